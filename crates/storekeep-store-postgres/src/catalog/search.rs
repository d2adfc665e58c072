//! Search candidates from the full-text match on `search_doc`.

use storekeep_domain::{SearchDoc, TenantId};
use storekeep_store::StoreResult;
use storekeep_store::catalog::tsquery;
use storekeep_store_sql::DbId;
use storekeep_store_sql::catalog::SearchRow;

use super::Pool;
use crate::error::other;

/// Active products whose search document holds every term (as a word or a
/// word prefix), newest first, at most `limit`.
pub(super) async fn candidates(
    pool: &Pool,
    tenant: TenantId,
    terms: &[String],
    limit: i64,
) -> StoreResult<Vec<SearchDoc>> {
    // A term with no letters or digits would be an empty tsquery operand
    // (a syntax error); as a prefix it matches every word, so drop it.
    let terms: Vec<String> = terms
        .iter()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .cloned()
        .collect();
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<SearchRow> = sqlx::query_as(
        "SELECT p.id, p.title, p.tags, p.description FROM products p \
         WHERE p.tenant_id = $1 AND p.status = 'active' \
         AND to_tsvector('simple', p.search_doc) @@ to_tsquery('simple', $2) \
         ORDER BY p.id DESC LIMIT $3",
    )
    .bind(DbId(tenant.0))
    .bind(tsquery(&terms))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(other)?;
    Ok(rows.into_iter().map(SearchDoc::from).collect())
}
