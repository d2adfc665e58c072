//! A contract's terms as stored (`rental_contracts.terms`, JSON): the
//! snapshot taken at checkout.

use serde::{Deserialize, Serialize};
use storekeep_domain::{
    BuyoutRule, DepositRule, LateFeeRule, Maintainer, RentalKind, RentalTerms, TermUnit,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TermsJson {
    kind: RentalKind,
    term_unit: TermUnit,
    term: i32,
    min_term: i32,
    max_term: i32,
    price_per_period: i64,
    deposit: DepositRule,
    late_fee: LateFeeRule,
    buyout: BuyoutRule,
    extension_allowed: bool,
    maintainer: Maintainer,
    default_after_days: i32,
}

impl From<&RentalTerms> for TermsJson {
    fn from(t: &RentalTerms) -> Self {
        Self {
            kind: t.kind,
            term_unit: t.term_unit,
            term: t.term,
            min_term: t.min_term,
            max_term: t.max_term,
            price_per_period: t.price_per_period,
            deposit: t.deposit,
            late_fee: t.late_fee,
            buyout: t.buyout,
            extension_allowed: t.extension_allowed,
            maintainer: t.maintainer,
            default_after_days: t.default_after_days,
        }
    }
}

impl From<TermsJson> for RentalTerms {
    fn from(t: TermsJson) -> Self {
        Self {
            kind: t.kind,
            term_unit: t.term_unit,
            term: t.term,
            min_term: t.min_term,
            max_term: t.max_term,
            price_per_period: t.price_per_period,
            deposit: t.deposit,
            late_fee: t.late_fee,
            buyout: t.buyout,
            extension_allowed: t.extension_allowed,
            maintainer: t.maintainer,
            default_after_days: t.default_after_days,
        }
    }
}
