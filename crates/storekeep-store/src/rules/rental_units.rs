//! Which status moves staff may make on a serial-tracked unit. Renting,
//! selling and taking a unit back are a contract's (`rented`, `sold`, and
//! leaving `rented`), never a staff move.

use storekeep_domain::{UnitEventKind, UnitStatus};

/// Why a staff move is refused: renting and selling go through contracts.
pub const CONTRACT_ONLY: &str = "a unit is rented, sold or taken back only through its contract";
/// Why any other move is refused.
pub const NOT_ALLOWED: &str = "the unit cannot move from its current status to that one";

/// Whether staff may move a unit from `from` to `to`: available ↔ repair,
/// inspection → available | repair | retired, repair → retired,
/// available → retired.
pub fn can_move(from: UnitStatus, to: UnitStatus) -> bool {
    use UnitStatus::{Available, Inspection, Repair, Retired};
    matches!(
        (from, to),
        (Available, Repair)
            | (Repair, Available)
            | (Inspection, Available | Repair | Retired)
            | (Repair | Available, Retired)
    )
}

/// The refusal of a move [`can_move`] does not allow.
pub fn refusal(from: UnitStatus, to: UnitStatus) -> &'static str {
    if matches!(from, UnitStatus::Rented) || matches!(to, UnitStatus::Rented | UnitStatus::Sold) {
        CONTRACT_ONLY
    } else {
        NOT_ALLOWED
    }
}

/// The history entry a staff move writes.
pub fn event_of(from: UnitStatus, to: UnitStatus) -> UnitEventKind {
    match (from, to) {
        (UnitStatus::Inspection, _) => UnitEventKind::Inspected,
        (UnitStatus::Repair, UnitStatus::Available) => UnitEventKind::Repaired,
        (_, UnitStatus::Retired) => UnitEventKind::Retired,
        _ => UnitEventKind::Updated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UnitStatus::*;

    #[test]
    fn only_the_listed_moves_are_allowed() {
        let allowed = [
            (Available, Repair),
            (Repair, Available),
            (Inspection, Available),
            (Inspection, Repair),
            (Inspection, Retired),
            (Repair, Retired),
            (Available, Retired),
        ];
        for &from in UnitStatus::ALL {
            for &to in UnitStatus::ALL {
                assert_eq!(
                    can_move(from, to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn contract_moves_are_named_as_such() {
        assert_eq!(refusal(Available, Rented), CONTRACT_ONLY);
        assert_eq!(refusal(Rented, Available), CONTRACT_ONLY);
        assert_eq!(refusal(Available, Sold), CONTRACT_ONLY);
        assert_eq!(refusal(Retired, Available), NOT_ALLOWED);
        assert_eq!(event_of(Inspection, Available), UnitEventKind::Inspected);
        assert_eq!(event_of(Repair, Available), UnitEventKind::Repaired);
        assert_eq!(event_of(Available, Retired), UnitEventKind::Retired);
        assert_eq!(event_of(Available, Repair), UnitEventKind::Updated);
    }
}
