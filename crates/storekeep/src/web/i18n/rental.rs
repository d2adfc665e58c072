//! The rent-to-own disclosure's labels on the product page (what
//! docs/rentals.md, "The disclosure", lists). The rule's own phrases
//! (deposit, buy-out and fee terms in words) come from
//! `rules::rental_disclosure` in English.

use storekeep_domain::TermUnit;

use super::Lang;

#[derive(Debug)]
pub struct RentalMsgs {
    pub cash_price: &'static str,
    pub payments: &'static str,
    pub payments_value: &'static str,
    pub total_of_payments: &'static str,
    pub total_cost: &'static str,
    pub cost_of_renting: &'static str,
    pub deposit: &'static str,
    pub due_at_signing: &'static str,
    pub ownership: &'static str,
    pub ownership_passes: &'static str,
    pub ownership_returns: &'static str,
    pub maintenance: &'static str,
    pub maintained_by_shop: &'static str,
    pub maintained_by_customer: &'static str,
    pub early_purchase: &'static str,
    pub buyout_after: &'static str,
    pub fees: &'static str,
    pub default: &'static str,
    pub default_value: &'static str,
    pub schedule: &'static str,
    pub term: &'static str,
    /// One period of a plan ("one every {period}", "{amount} / {period}").
    pub week: &'static str,
    pub month: &'static str,
    /// A term of `{n}` periods.
    pub weeks: &'static str,
    pub months: &'static str,
}

impl RentalMsgs {
    /// One period of `unit`: "month", "Monat".
    pub fn period(&self, unit: TermUnit) -> &'static str {
        match unit {
            TermUnit::Week => self.week,
            TermUnit::Month => self.month,
        }
    }

    /// A term of `n` periods of `unit`: "12 months", "12 Monate".
    pub fn periods(&self, unit: TermUnit, n: i32) -> String {
        if n == 1 {
            return format!("1 {}", self.period(unit));
        }
        match unit {
            TermUnit::Week => self.weeks,
            TermUnit::Month => self.months,
        }
        .replace("{n}", &n.to_string())
    }
}

pub const EN: RentalMsgs = RentalMsgs {
    cash_price: "Cash price",
    payments: "Payments",
    payments_value: "{count} payments of {amount}, one every {period}",
    total_of_payments: "Total of payments",
    total_cost: "Total cost (all payments on time)",
    cost_of_renting: "Cost of renting over the cash price",
    deposit: "Refundable deposit (not part of the cost)",
    due_at_signing: "Due at checkout (deposit and first payment)",
    ownership: "Ownership",
    ownership_passes: "The item becomes yours after the last payment.",
    ownership_returns: "The item is returned at the end of the term; it does not become yours.",
    maintenance: "Maintenance and repairs",
    maintained_by_shop: "by the shop",
    maintained_by_customer: "by you",
    early_purchase: "Early purchase",
    buyout_after: "after payment {n}: {price}",
    fees: "Fees",
    default: "Default",
    default_value: "{n} days after an unpaid due date",
    schedule: "First payment due {first}, last payment due {last}.",
    term: "Term",
    week: "week",
    month: "month",
    weeks: "{n} weeks",
    months: "{n} months",
};

pub const DE: RentalMsgs = RentalMsgs {
    cash_price: "Barpreis",
    payments: "Zahlungen",
    payments_value: "{count} Zahlungen zu je {amount}, eine pro {period}",
    total_of_payments: "Summe der Zahlungen",
    total_cost: "Gesamtkosten (alle Zahlungen pünktlich)",
    cost_of_renting: "Mehrkosten gegenüber dem Barpreis",
    deposit: "Rückzahlbare Kaution (nicht Teil der Kosten)",
    due_at_signing: "Fällig bei der Bestellung (Kaution und erste Zahlung)",
    ownership: "Eigentum",
    ownership_passes: "Nach der letzten Zahlung gehört der Artikel Ihnen.",
    ownership_returns: "Der Artikel wird am Ende der Laufzeit zurückgegeben; er geht nicht in Ihr Eigentum über.",
    maintenance: "Wartung und Reparatur",
    maintained_by_shop: "durch den Shop",
    maintained_by_customer: "durch Sie",
    early_purchase: "Vorzeitiger Kauf",
    buyout_after: "nach Zahlung {n}: {price}",
    fees: "Gebühren",
    default: "Zahlungsverzug",
    default_value: "{n} Tage nach einem unbezahlten Fälligkeitstag",
    schedule: "Erste Zahlung fällig am {first}, letzte am {last}.",
    term: "Laufzeit",
    week: "Woche",
    month: "Monat",
    weeks: "{n} Wochen",
    months: "{n} Monate",
};

pub fn get(lang: Lang) -> &'static RentalMsgs {
    match lang {
        Lang::En => &EN,
        Lang::De => &DE,
    }
}
