//! The audit log's hash chain, computed the same way by every backend and
//! by `storekeep audit verify`.
//!
//! `hash = SHA-256(prev_hash ‖ 0 ‖ seq ‖ 0 ‖ scope ‖ 0 ‖ actor ‖ … ‖ at)`
//! over every stored field, so editing, reordering or deleting any row
//! breaks the chain from that row on.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use storekeep_domain::{AuditContext, AuditEntry};

use crate::{StoreError, StoreResult};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An audited change before its chain numbers it: in which chain (a
/// tenant id, or `PLATFORM_SCOPE`), what was done to what, and the states
/// before and after. The rules (`crate::rules`) say what each write
/// records; the backends append it in the write's own transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub scope: String,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Change {
    /// A change with no recorded states; add them with [`Change::before`]
    /// and [`Change::after`].
    pub fn new(scope: impl Into<String>, action: &str, target: impl Into<String>) -> Self {
        Self {
            scope: scope.into(),
            action: action.to_owned(),
            target: target.into(),
            before: None,
            after: None,
        }
    }

    /// Records the state before the change.
    pub fn before(self, state: &impl Serialize) -> StoreResult<Self> {
        Ok(Self {
            before: Some(snapshot(state)?),
            ..self
        })
    }

    /// Records the state after the change.
    pub fn after(self, state: &impl Serialize) -> StoreResult<Self> {
        Ok(Self {
            after: Some(snapshot(state)?),
            ..self
        })
    }
}

/// A record as the audit log keeps it.
fn snapshot(state: &impl Serialize) -> StoreResult<serde_json::Value> {
    serde_json::to_value(state).map_err(StoreError::other)
}

/// The entries that append `changes`, in order, to a chain whose last
/// entry is `head` (as [`link`]), each linked to the one before it.
pub fn link_all(
    mut head: Option<(i64, String)>,
    changes: Vec<Change>,
    ctx: &AuditContext,
    at: DateTime<Utc>,
) -> Vec<AuditEntry> {
    let mut entries = Vec::with_capacity(changes.len());
    for change in changes {
        let entry = link(head.take(), change, ctx, at);
        head = Some((entry.seq, entry.hash.clone()));
        entries.push(entry);
    }
    entries
}

/// The entry that appends `change` to a chain whose last entry is `head`
/// (its `(seq, hash)`; `None`, or seq 0, for an empty chain), made by `ctx`
/// at `at`, with its hash.
pub fn link(
    head: Option<(i64, String)>,
    change: Change,
    ctx: &AuditContext,
    at: DateTime<Utc>,
) -> AuditEntry {
    let (seq, prev_hash) = head.map_or((1, GENESIS.to_owned()), |(s, h)| (s + 1, h));
    let mut entry = AuditEntry {
        seq,
        scope: change.scope,
        actor: ctx.actor.clone(),
        action: change.action,
        target: change.target,
        before: change.before,
        after: change.after,
        ip: ctx.ip.clone(),
        request_id: ctx.request_id.clone(),
        at,
        prev_hash,
        hash: String::new(),
    };
    entry.hash = chain_hash(&entry);
    entry
}

/// The hash of `entry` given the hash of the entry before it.
pub fn chain_hash(entry: &AuditEntry) -> String {
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    let fields: [&str; 11] = [
        &entry.prev_hash,
        &entry.seq.to_string(),
        &entry.scope,
        &entry.actor,
        &entry.action,
        &entry.target,
        &json(&entry.before),
        &json(&entry.after),
        entry.ip.as_deref().unwrap_or(""),
        entry.request_id.as_deref().unwrap_or(""),
        &entry
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    ];
    let mut h = Sha256::new();
    for f in fields {
        h.update(f.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub scope: String,
    pub seq: i64,
    pub reason: String,
}

/// Checks one scope's entries, in `seq` order: sequence numbers have no
/// gaps, each entry links to the one before and its hash is right.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<usize, ChainBreak> {
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        let fail = |reason: String| ChainBreak {
            scope: e.scope.clone(),
            seq: e.seq,
            reason,
        };
        if e.seq != expected_seq {
            return Err(fail(format!(
                "entry {expected_seq} is missing (found {} next)",
                e.seq
            )));
        }
        if e.prev_hash != prev {
            return Err(fail("does not link to the entry before it".into()));
        }
        if chain_hash(e) != e.hash {
            return Err(fail("its content does not match its hash".into()));
        }
        prev = e.hash.clone();
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_entries_number_and_chain_from_the_head() {
        let ctx = AuditContext {
            actor: "cli".into(),
            ..AuditContext::default()
        };
        let first = link(
            None,
            Change::new("platform", "a.b", "x:1"),
            &ctx,
            crate::now(),
        );
        let second = link(
            Some((first.seq, first.hash.clone())),
            Change::new("platform", "a.c", "x:2")
                .after(&[1, 2])
                .unwrap(),
            &ctx,
            crate::now(),
        );
        assert_eq!((first.seq, first.prev_hash.as_str()), (1, GENESIS));
        assert_eq!((second.seq, &second.prev_hash), (2, &first.hash));
        assert_eq!(second.after, Some(serde_json::json!([1, 2])));
        assert_eq!(verify_chain(&[first.clone(), second.clone()]), Ok(2));
        // A chain whose head row starts at seq 0 (PostgreSQL's) links alike.
        let from_zero = link(
            Some((0, GENESIS.to_owned())),
            Change::new("platform", "a.b", "x:1"),
            &ctx,
            first.at,
        );
        assert_eq!(from_zero, first);
        let mut edited = second;
        edited.target = "x:3".into();
        assert!(verify_chain(&[first, edited]).is_err());
    }
}
