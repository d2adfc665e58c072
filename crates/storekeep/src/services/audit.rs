//! The audit log, as shops and the platform read it.

use chrono::{DateTime, Utc};
use storekeep_domain::{AuditEntry, AuditFilter, ValidationErrors};

use crate::services::{ServiceResult, Services};

/// The longest actor or action a filter takes (the longest the server
/// writes is far shorter).
const MAX_TERM: usize = 200;

/// At most `limit` entries of `scope` older than `before` (a sequence
/// number) that `filter` lets through, newest first, and the cursor of the
/// next page if there is one (the last entry's sequence number: the
/// filter must be given again with it).
pub async fn page(
    svc: &Services,
    scope: &str,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> ServiceResult<(Vec<AuditEntry>, Option<String>)> {
    let fetch = i64::from(limit) + 1;
    let mut items = if filter.is_empty() {
        svc.store.list_audit(scope, before, fetch).await?
    } else {
        svc.store.search_audit(scope, filter, before, fetch).await?
    };
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok((items, next_cursor))
}

/// An actor or action as typed: blank narrows nothing; too long or with a
/// control character is refused under `field`.
fn term(raw: Option<&str>, field: &str, errors: &mut ValidationErrors) -> Option<String> {
    let t = raw.map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > MAX_TERM {
        errors.add(field, format!("must be at most {MAX_TERM} characters"));
        return None;
    }
    if t.chars().any(char::is_control) {
        errors.add(field, "must not contain control characters");
        return None;
    }
    Some(t.to_owned())
}

/// A time of the API's filter: RFC 3339 (`2026-11-28T09:00:00Z`), or blank.
pub fn instant(raw: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    let Some(t) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(t)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| "must be a time in RFC 3339 form, such as 2026-11-28T09:00:00Z".to_owned())
}

/// The filter of an actor, an action and a span `[from, to)` already read,
/// every problem recorded in `errors` (a span that ends before it starts
/// is refused under `to`).
pub fn filter(
    actor: Option<&str>,
    action: Option<&str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    errors: &mut ValidationErrors,
) -> AuditFilter {
    let actor = term(actor, "actor", errors);
    let action = term(action, "action", errors);
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        errors.add("to", "must be later than from");
    }
    AuditFilter {
        actor,
        action,
        from,
        to,
    }
}

/// The filter of the API's query parameters (`from` and `to` in RFC
/// 3339), or every problem with them, each naming its parameter.
pub fn parse_filter(
    actor: Option<&str>,
    action: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<AuditFilter, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let from = errors.check("from", instant(from)).flatten();
    let to = errors.check("to", instant(to)).flatten();
    let f = filter(actor, action, from, to, &mut errors);
    errors.into_result().map(|()| f)
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
