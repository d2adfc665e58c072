//! How a contract ends before its schedule does (issue 15, phase 3): what
//! an early buy-out costs now, and what a return with inspection settles
//! from the deposit. Pure: both backends and the services call these with
//! what they read.

use storekeep_domain::{ContractStatus, InspectionOutcome, RentalKind, RentalTerms};

use super::rentals::buyout_price;

/// A fixed-term contract has no buy-out.
pub const FIXED_TERM: &str = "a fixed-term contract cannot be bought out: its goods come back";
/// The contract's terms have no buy-out rule.
pub const NO_RULE: &str = "the contract's plan has no buy-out rule";
/// Only a running (active or overdue) contract can be bought out.
pub const NOT_RUNNING: &str =
    "the contract is not active or overdue: it cannot be bought out (a defaulted one is returned)";
/// The amount staff confirmed is no longer the quote's total.
pub const QUOTE_CHANGED: &str =
    "the quote changed: amount is not the buy-out's total now; read the quote again";
/// A contract that is no longer out with the customer cannot come back.
pub const NOT_OUT: &str = "the contract is not active, overdue or defaulted: there is nothing to \
     return (it was returned, bought out, completed or cancelled)";

/// A contract whose order is not paid yet: no deposit or installment was
/// taken, so there is nothing to buy out or settle.
pub const NOT_STARTED: &str = "the contract's order is not paid yet: nothing was taken from the \
     customer; cancel the order instead";

/// One installment as a quote sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub amount: i64,
    pub late_fee: i64,
    pub paid: bool,
}

/// What buying a contract out costs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuyoutQuote {
    /// `rules::rentals::buyout_price` of the rent paid and the rest.
    pub buyout_price: i64,
    /// Late fees charged on installments not yet paid, owed on top.
    pub late_fees: i64,
    /// `buyout_price + late_fees`: what the buy-out takes.
    pub total: i64,
    /// The installments paid so far.
    pub rent_paid: i64,
    /// The installments not yet paid (closed by the buy-out).
    pub remaining: i64,
}

/// The buy-out quote of a contract in `status` on `terms`, or why there is
/// none (a message for a `409`).
/// `started` says whether the contract's order was paid (its deposit
/// recorded).
pub fn buyout_quote(
    terms: &RentalTerms,
    status: ContractStatus,
    started: bool,
    cash_price: i64,
    installments: &[Due],
) -> Result<BuyoutQuote, &'static str> {
    if terms.kind != RentalKind::RentToOwn {
        return Err(FIXED_TERM);
    }
    if !matches!(status, ContractStatus::Active | ContractStatus::Overdue) {
        return Err(NOT_RUNNING);
    }
    if !started {
        return Err(NOT_STARTED);
    }
    let sum = |f: fn(&Due) -> i64| {
        installments
            .iter()
            .fold(0_i64, |total, d| total.saturating_add(f(d)))
    };
    let rent_paid = sum(|d| if d.paid { d.amount } else { 0 });
    let remaining = sum(|d| if d.paid { 0 } else { d.amount });
    let late_fees = sum(|d| if d.paid { 0 } else { d.late_fee });
    let price = buyout_price(terms, cash_price, rent_paid, remaining).ok_or(NO_RULE)?;
    Ok(BuyoutQuote {
        buyout_price: price,
        late_fees,
        total: price.saturating_add(late_fees),
        rent_paid,
        remaining,
    })
}

/// Whether a contract in `status` can be returned: it is still out with
/// the customer (active, overdue or defaulted; fixed-term or rent-to-own)
/// and `started` (its order was paid).
pub fn check_returnable(status: ContractStatus, started: bool) -> Result<(), &'static str> {
    match status {
        ContractStatus::Active | ContractStatus::Overdue | ContractStatus::Defaulted
            if !started =>
        {
            Err(NOT_STARTED)
        }
        ContractStatus::Active | ContractStatus::Overdue | ContractStatus::Defaulted => Ok(()),
        _ => Err(NOT_OUT),
    }
}

/// What a return takes from the deposit held and what it owes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    /// Kept for damage or loss (a `damage_charge` payment when above 0).
    pub charge: i64,
    /// Owed back to the customer (a `deposit_refund` payment when above 0).
    pub refund: i64,
}

/// A return's problem with its input: the field and what is wrong.
pub type ReturnProblem = (&'static str, String);

/// Settles `held` for a return found `outcome` with staff's `charge`:
/// `ok` refunds everything and takes no charge; `damaged` keeps the charge
/// (1 ≤ charge ≤ held, with a reason) and refunds the rest; `missing`
/// keeps the whole deposit and takes no charge of its own.
pub fn settle(
    outcome: InspectionOutcome,
    charge: Option<i64>,
    has_reason: bool,
    held: i64,
) -> Result<Settlement, Vec<ReturnProblem>> {
    let mut problems = Vec::new();
    let held = held.max(0);
    let settlement = match (outcome, charge) {
        (InspectionOutcome::Ok, None) => Settlement {
            charge: 0,
            refund: held,
        },
        (InspectionOutcome::Ok, Some(_)) => {
            problems.push((
                "charge",
                "must be left out when the goods came back ok".to_owned(),
            ));
            Settlement::default_for(held)
        }
        (InspectionOutcome::Damaged, None) => Settlement {
            charge: 0,
            refund: held,
        },
        (InspectionOutcome::Damaged, Some(c)) => {
            if c < 1 || c > held {
                problems.push((
                    "charge",
                    format!("must be between 1 and the deposit held ({held})"),
                ));
            }
            if !has_reason {
                problems.push(("reason", "is required with a charge".to_owned()));
            }
            Settlement {
                charge: c.clamp(0, held),
                refund: held - c.clamp(0, held),
            }
        }
        (InspectionOutcome::Missing, None) => Settlement {
            charge: held,
            refund: 0,
        },
        (InspectionOutcome::Missing, Some(_)) => {
            problems.push((
                "charge",
                "must be left out when the goods are missing: the whole deposit is kept".to_owned(),
            ));
            Settlement::default_for(held)
        }
    };
    if problems.is_empty() {
        Ok(settlement)
    } else {
        Err(problems)
    }
}

impl Settlement {
    fn default_for(held: i64) -> Self {
        Self {
            charge: 0,
            refund: held,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storekeep_domain::{BuyoutRule, DepositRule, LateFeeRule, Maintainer, TermUnit};

    fn terms(buyout: BuyoutRule) -> RentalTerms {
        RentalTerms {
            kind: RentalKind::RentToOwn,
            term_unit: TermUnit::Month,
            term: 3,
            min_term: 1,
            max_term: 3,
            price_per_period: 5_000,
            deposit: DepositRule::None,
            late_fee: LateFeeRule::None,
            buyout,
            extension_allowed: false,
            maintainer: Maintainer::Shop,
            default_after_days: 30,
        }
    }

    fn due(paid: bool, late_fee: i64) -> Due {
        Due {
            amount: 5_000,
            late_fee,
            paid,
        }
    }

    #[test]
    fn a_quote_is_the_rule_on_rent_paid_plus_unpaid_late_fees() {
        let t = terms(BuyoutRule::CashPriceMinusRent { bps: 5_000 });
        let q = buyout_quote(
            &t,
            ContractStatus::Overdue,
            true,
            12_000,
            &[due(true, 0), due(false, 750), due(false, 0)],
        )
        .unwrap();
        assert_eq!((q.buyout_price, q.late_fees, q.total), (9_500, 750, 10_250));
        assert_eq!((q.rent_paid, q.remaining), (5_000, 10_000));
    }

    #[test]
    fn fixed_term_closed_and_ruleless_contracts_have_no_quote() {
        let mut t = terms(BuyoutRule::RemainingShare { bps: 8_000 });
        let d = [due(true, 0)];
        assert_eq!(
            buyout_quote(&t, ContractStatus::Defaulted, true, 1, &d),
            Err(NOT_RUNNING)
        );
        assert_eq!(
            buyout_quote(&t, ContractStatus::Active, false, 1, &d),
            Err(NOT_STARTED)
        );
        t.kind = RentalKind::FixedTerm;
        assert_eq!(
            buyout_quote(&t, ContractStatus::Active, true, 1, &d),
            Err(FIXED_TERM)
        );
        let t = terms(BuyoutRule::None);
        assert_eq!(
            buyout_quote(&t, ContractStatus::Active, true, 1, &d),
            Err(NO_RULE)
        );
    }

    #[test]
    fn only_goods_out_with_the_customer_come_back() {
        assert_eq!(check_returnable(ContractStatus::Defaulted, true), Ok(()));
        assert_eq!(
            check_returnable(ContractStatus::Active, false),
            Err(NOT_STARTED)
        );
        for closed in [
            ContractStatus::Completed,
            ContractStatus::BoughtOut,
            ContractStatus::Returned,
            ContractStatus::Cancelled,
        ] {
            assert_eq!(check_returnable(closed, true), Err(NOT_OUT));
        }
    }

    #[test]
    fn a_return_keeps_the_charge_and_refunds_the_rest() {
        use InspectionOutcome::*;
        let s = |charge, refund| Settlement { charge, refund };
        assert_eq!(settle(Ok, None, false, 2_000), Result::Ok(s(0, 2_000)));
        assert_eq!(
            settle(Damaged, Some(1), true, 2_000),
            Result::Ok(s(1, 1_999))
        );
        assert_eq!(
            settle(Damaged, Some(2_000), true, 2_000),
            Result::Ok(s(2_000, 0))
        );
        assert_eq!(settle(Missing, None, false, 2_000), Result::Ok(s(2_000, 0)));
        let fields = |r: Result<Settlement, Vec<ReturnProblem>>| -> Vec<&str> {
            r.unwrap_err().into_iter().map(|(f, _)| f).collect()
        };
        assert_eq!(
            fields(settle(Damaged, Some(2_001), true, 2_000)),
            ["charge"]
        );
        assert_eq!(fields(settle(Damaged, Some(0), true, 2_000)), ["charge"]);
        assert_eq!(fields(settle(Damaged, Some(5), false, 2_000)), ["reason"]);
        assert_eq!(fields(settle(Ok, Some(5), true, 2_000)), ["charge"]);
        assert_eq!(fields(settle(Missing, Some(5), true, 2_000)), ["charge"]);
    }
}
