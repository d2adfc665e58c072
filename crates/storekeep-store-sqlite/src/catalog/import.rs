//! Bulk import: up to `IMPORT_BATCH` rows in one transaction. Rows that
//! only create are decided in memory and written together in multi-row
//! statements; every other row runs alone in its own savepoint
//! (`storekeep_store_sql::catalog::import` says which and why). The
//! batch's write lock keeps the product count (the plan's room) and what
//! the batch read true for the whole batch.

use sqlx::Sqlite;
use storekeep_domain::{
    AuditContext, CategoryId, Handle, ImportOutcome, ImportRow, ImportVariant, ProductStatus,
    TenantId, search_document, title_key,
};
use storekeep_store::rules::catalog::{self as rules, ImportBatch};
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::catalog::import::{self as plan, Known, NewProduct, ROWS_PER_INSERT};
use storekeep_store_sql::catalog::{ProductFields, sql, warn_if_broken};

use super::products::refresh_summary;
use super::{Conn, Pool, lock_tenant, map_err, record};
use crate::backend::SqliteBackend as B;
use crate::error::other;
use crate::run::RUN;
use crate::write_tx;
use storekeep_store_sql::catalog::inventory::change_stock;
use storekeep_store_sql::catalog::products::{insert, rewrite};
use storekeep_store_sql::catalog::variants::{insert_variant, variant_count, write_variant};
use storekeep_store_sql::stmt::Stmt;

storekeep_store_sql::import_batches!();

/// A JSON array of `values`, bound as one argument and read with
/// `json_each` (no limit on the number of values).
fn json_list(values: &[&str]) -> String {
    serde_json::to_string(values).expect("strings serialise")
}

/// What the shop has of what the batch names, in three statements.
async fn known(conn: &mut Conn, tenant: TenantId, rows: &[ImportRow]) -> StoreResult<Known> {
    let (handles, skus, categories) = plan::named(rows);
    let t = DbId(tenant.0);
    let products: Vec<String> = sqlx::query_scalar(
        "SELECT handle FROM products WHERE tenant_id = $1 \
         AND handle IN (SELECT value FROM json_each($2))",
    )
    .bind(t)
    .bind(json_list(&handles))
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    let skus: Vec<String> = sqlx::query_scalar(
        "SELECT sku FROM variants WHERE tenant_id = $1 \
         AND sku IN (SELECT value FROM json_each($2))",
    )
    .bind(t)
    .bind(json_list(&skus))
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    let categories: Vec<(String, DbId)> = if categories.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT handle, id FROM categories WHERE tenant_id = $1 \
             AND handle IN (SELECT value FROM json_each($2))",
        )
        .bind(t)
        .bind(json_list(&categories))
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?
    };
    Ok(Known {
        products: products.into_iter().collect(),
        skus: skus.into_iter().collect(),
        categories: categories.into_iter().collect(),
    })
}

storekeep_store_sql::import_writer!(Sqlite);

/// Locks the batch's existing products on PostgreSQL. Here the write
/// transaction already holds the database's lock.
async fn lock_existing(
    _conn: &mut Conn,
    _tenant: TenantId,
    _rows: &[ImportRow],
) -> StoreResult<()> {
    Ok(())
}

async fn category_ids(
    conn: &mut Conn,
    tenant: TenantId,
    handles: &[Handle],
) -> StoreResult<Vec<CategoryId>> {
    let mut ids = Vec::with_capacity(handles.len());
    for handle in handles {
        let id: Option<DbId> = RUN
            .scalar_optional(
                &mut *conn,
                Stmt::new(
                    sql::CATEGORY_ID_BY_HANDLE,
                    (DbId(tenant.0), handle.as_str()),
                ),
            )
            .await?;
        ids.push(CategoryId(rules::known_category(id)?.0));
    }
    Ok(ids)
}

/// Applies one import row; runs inside the row's savepoint.
async fn import_row(
    conn: &mut Conn,
    tenant: TenantId,
    row: &ImportRow,
    batch: &ImportBatch,
    actor: &str,
) -> StoreResult<ImportOutcome> {
    let categories = category_ids(conn, tenant, &row.categories).await?;
    let fields = ProductFields::of_import(row);
    let existing: Option<DbId> = RUN
        .scalar_optional(
            &mut *conn,
            Stmt::new(
                "SELECT id FROM products WHERE tenant_id = $1 AND handle = $2",
                (DbId(tenant.0), row.handle.as_str()),
            ),
        )
        .await?;
    let (product, outcome) = match existing {
        Some(id) => {
            rewrite::<B>(conn, tenant, id, fields, Some(&row.tags), Some(&categories)).await?;
            (id, ImportOutcome::Updated)
        }
        None => {
            batch.may_create()?;
            let id = insert::<B>(conn, tenant, fields, &categories).await?;
            (id, ImportOutcome::Created)
        }
    };
    for v in &row.variants {
        import_variant(conn, tenant, product, v, actor).await?;
    }
    rules::variant_count(variant_count::<B>(conn, product).await?)?;
    refresh_summary(conn, product).await?;
    Ok(outcome)
}

/// Creates or updates a variant of `product`, matched by SKU; its stock is
/// set to the row's figure (through the ledger) when the row gives one.
async fn import_variant(
    conn: &mut Conn,
    tenant: TenantId,
    product: DbId,
    v: &ImportVariant,
    actor: &str,
) -> StoreResult<()> {
    let (variant, set_stock) = (&v.variant, v.set_stock);
    let found: Option<(DbId, DbId, i64)> = sqlx::query_as(
        "SELECT id, product_id, on_hand FROM variants WHERE tenant_id = $1 AND sku = $2",
    )
    .bind(DbId(tenant.0))
    .bind(variant.sku.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let Some((id, owner, on_hand)) = found else {
        insert_variant::<B>(conn, tenant, product, variant, actor, "import").await?;
        return Ok(());
    };
    rules::sku_owner(&owner, &product)?;
    write_variant::<B>(conn, id, variant).await?;
    if set_stock && variant.on_hand != on_hand {
        change_stock::<B>(
            conn,
            tenant,
            id.0,
            variant.on_hand - on_hand,
            "import",
            actor,
        )
        .await?;
    }
    Ok(())
}
