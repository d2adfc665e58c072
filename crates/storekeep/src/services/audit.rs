//! The audit log, as shops and the platform read it.

use storekeep_domain::AuditEntry;

use crate::services::{ServiceResult, Services};

/// At most `limit` entries of `scope` older than `before` (a sequence
/// number), newest first, and the cursor of the next page if there is one.
pub async fn page(
    svc: &Services,
    scope: &str,
    before: Option<i64>,
    limit: u32,
) -> ServiceResult<(Vec<AuditEntry>, Option<String>)> {
    let mut items = svc
        .store
        .list_audit(scope, before, i64::from(limit) + 1)
        .await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok((items, next_cursor))
}
