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

/// One chain's verdict from [`verify_chains`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    /// Intact, with this many entries.
    Intact(usize),
    /// Broken: what `storekeep audit verify` prints after the scope.
    Broken(String),
}

/// Recomputes every audit chain in `store` and compares its end with the
/// recorded head: each scope's verdict, in scope order.
pub async fn verify_chains(
    store: &dyn storekeep_store::Store,
) -> Result<Vec<(String, ChainVerdict)>, storekeep_store::StoreError> {
    let mut verdicts = Vec::new();
    for scope in store.audit_scopes().await? {
        let mut entries: Vec<AuditEntry> = Vec::new();
        loop {
            let after = entries.last().map_or(0, |e| e.seq);
            let batch = store.audit_chain(&scope, after, 5_000).await?;
            if batch.is_empty() {
                break;
            }
            entries.extend(batch);
        }
        let head = store.audit_head(&scope).await?;
        let verdict = match storekeep_store::audit::verify_chain(&entries) {
            Err(b) => ChainVerdict::Broken(format!("entry {} {}", b.seq, b.reason)),
            Ok(n) => {
                let last = entries.last().map(|e| (e.seq, e.hash.clone()));
                if last == head {
                    ChainVerdict::Intact(n)
                } else {
                    let recorded = head.map_or(0, |h| h.0);
                    ChainVerdict::Broken(format!(
                        "the chain ends at entry {n} but {recorded} entries were recorded; entries after {n} were removed"
                    ))
                }
            }
        };
        verdicts.push((scope, verdict));
    }
    Ok(verdicts)
}

/// [`verify_chains`] over the server's own store (the operators' console's
/// "verify now").
pub async fn verify_all(svc: &Services) -> ServiceResult<Vec<(String, ChainVerdict)>> {
    Ok(verify_chains(svc.store.as_ref()).await?)
}
