//! Deal caps and the audit of deal changes.
//!
//! A deal's window and its global caps (`max_uses`, `max_units`) are
//! checked by the conditional update that claims it
//! (`storekeep_store_sql::commerce::CLAIM_DEAL`, one text for both
//! databases), so racing checkouts cannot exceed them; the per-customer
//! cap is counted after the claim, under its lock.

use storekeep_domain::{Deal, DealId};

use crate::rules::commerce::Audited;
use crate::{StoreError, StoreResult};

pub const CREATED: &str = "deal.create";
pub const UPDATED: &str = "deal.update";
pub const DELETED: &str = "deal.delete";

/// Whether a customer who holds `used` unreleased uses of a deal with
/// per-customer cap `cap` may not use it again.
pub fn per_customer_cap_reached(cap: Option<i64>, used: i64) -> bool {
    cap.is_some_and(|cap| used >= cap)
}

/// The audit entry of a deal's creation (`before: None`), change, or
/// deletion (`after: None`).
pub fn deal_audit(
    action: &str,
    id: DealId,
    before: Option<&Deal>,
    after: Option<&Deal>,
) -> StoreResult<Audited> {
    let json = |deal: Option<&Deal>| {
        deal.map(serde_json::to_value)
            .transpose()
            .map_err(StoreError::other)
    };
    Ok(Audited {
        action: action.to_owned(),
        target: format!("deal:{id}"),
        before: json(before)?,
        after: json(after)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_customer_cap_counts_unreleased_uses() {
        assert!(!per_customer_cap_reached(None, 1_000));
        assert!(!per_customer_cap_reached(Some(2), 1));
        assert!(per_customer_cap_reached(Some(2), 2));
        assert!(per_customer_cap_reached(Some(0), 0));
    }
}
