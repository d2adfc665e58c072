//! The audit log's hash chain, computed the same way by every backend and
//! by `storekeep audit verify`.
//!
//! `hash = SHA-256(prev_hash ‖ 0 ‖ seq ‖ 0 ‖ scope ‖ 0 ‖ actor ‖ … ‖ at)`
//! over every stored field, so editing, reordering or deleting any row
//! breaks the chain from that row on.

use sha2::{Digest, Sha256};
use storekeep_domain::AuditEntry;

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
