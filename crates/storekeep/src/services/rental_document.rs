//! The rental agreement as a printable HTML document
//! (`templates/rentals/contract.html`, askama, every value escaped): the
//! parties, the goods, every disclosure of
//! [`storekeep_store::rules::rental_disclosure`] as a row with its amount
//! in the shop's currency, the full schedule, the early-purchase table and
//! a signatures block. One self-contained page: print CSS, no external
//! assets, no JavaScript. Also the wording both this document and the
//! rental emails use (dates, kinds, fees, maintenance).

use askama::Template;
use chrono::NaiveDate;
use storekeep_domain::{Maintainer, RentalKind, RentalPaymentKind, TermUnit};
use storekeep_store::rules::rental_disclosure::{Disclosure, Fee};

use crate::mail::templates::format_money;

/// Everything the agreement shows. The disclosure is computed from the
/// contract's terms by `rules::rental_disclosure::disclosure`.
#[derive(Debug, Clone)]
pub struct ContractDocument {
    pub shop_name: String,
    /// The shop's contact lines (address, email, phone), as it wants them.
    pub shop_contact: Vec<String>,
    pub customer_name: String,
    pub customer_email: String,
    pub contract_number: String,
    /// The day the agreement was made, in the shop's time zone.
    pub made_on: NaiveDate,
    pub time_zone: String,
    pub product_title: String,
    pub sku: String,
    /// The serial of the unit handed over, once one is assigned.
    pub serial: Option<String>,
    pub currency: String,
    pub disclosure: Disclosure,
}

/// A date as the documents write it: `31 March 2027`.
pub fn format_date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// `rent-to-own agreement` or `fixed-term rental agreement`.
pub fn kind_words(kind: RentalKind) -> &'static str {
    match kind {
        RentalKind::RentToOwn => "rent-to-own",
        RentalKind::FixedTerm => "fixed-term rental",
    }
}

/// What happens at the end of the agreement.
pub fn end_words(kind: RentalKind) -> &'static str {
    match kind {
        RentalKind::RentToOwn => {
            "The goods become yours once every payment is made, or earlier if you buy them out."
        }
        RentalKind::FixedTerm => {
            "The goods remain ours: you return them at the end of the agreement."
        }
    }
}

/// Who maintains the goods, in words.
pub fn maintainer_words(m: Maintainer) -> &'static str {
    match m {
        Maintainer::Shop => {
            "We maintain and repair the goods during the agreement at no extra cost, except damage beyond normal wear."
        }
        Maintainer::Customer => {
            "You maintain the goods and pay for their repairs during the agreement."
        }
    }
}

/// `monthly` or `weekly`.
pub fn unit_words(unit: TermUnit) -> &'static str {
    match unit {
        TermUnit::Month => "monthly",
        TermUnit::Week => "weekly",
    }
}

/// `12 monthly payments of $49.99`.
pub fn payments_words(d: &Disclosure, currency: &str) -> String {
    let plural = if d.number_of_payments == 1 { "" } else { "s" };
    format!(
        "{} {} payment{plural} of {}",
        d.number_of_payments,
        unit_words(d.term_unit),
        format_money(d.payment_amount, currency)
    )
}

/// A fee as one sentence with its amount: `Late fee: $5.00. Charged once…`.
pub fn fee_words(fee: &Fee, currency: &str) -> String {
    let name = match fee.kind {
        RentalPaymentKind::LateFee => "Late fee",
        _ => "Damage charges",
    };
    match fee.amount {
        Some(a) => format!("{name}: {}. {}", format_money(a, currency), fee.terms),
        None => format!("{name}: {}", fee.terms),
    }
}

struct Row {
    label: &'static str,
    value: String,
    note: String,
}

struct Line {
    seq: i32,
    due_date: String,
    amount: String,
}

struct Buyout {
    after: i32,
    price: String,
}

#[derive(Template)]
#[template(path = "rentals/contract.html")]
struct ContractHtml<'a> {
    doc: &'a ContractDocument,
    title: String,
    kind: &'static str,
    made_on: String,
    start: String,
    end: String,
    rows: Vec<Row>,
    schedule: Vec<Line>,
    total: String,
    early_terms: Option<String>,
    buyouts: Vec<Buyout>,
}

/// The agreement as one printable HTML page.
pub fn render_contract_document(doc: &ContractDocument) -> String {
    let d = &doc.disclosure;
    let m = |a: i64| format_money(a, &doc.currency);
    let first = d.schedule.first().map(|i| format_date(i.due_date));
    let last = d.schedule.last().map(|i| format_date(i.due_date));
    let (start, end) = (
        first.clone().unwrap_or_else(|| format_date(doc.made_on)),
        last.clone().unwrap_or_else(|| format_date(doc.made_on)),
    );
    let mut rows = vec![
        Row {
            label: "Type of agreement",
            value: kind_words(d.kind).to_owned(),
            note: end_words(d.kind).to_owned(),
        },
        Row {
            label: "Cash price",
            value: m(d.cash_price),
            note: "What the goods cost if bought outright today.".to_owned(),
        },
        Row {
            label: "Deposit",
            value: m(d.deposit),
            note: d.deposit_terms.clone(),
        },
        Row {
            label: "Amount of each payment",
            value: m(d.payment_amount),
            note: format!("Due {}.", unit_words(d.term_unit)),
        },
        Row {
            label: "Number of payments",
            value: d.number_of_payments.to_string(),
            note: payments_words(d, &doc.currency),
        },
        Row {
            label: "Timing of payments",
            value: format!("{start} to {end}"),
            note: "The first payment is due at signing; each date is listed in the schedule below."
                .to_owned(),
        },
        Row {
            label: "Due at signing",
            value: m(d.due_at_start),
            note: "The deposit and the first payment.".to_owned(),
        },
        Row {
            label: "Total of payments",
            value: m(d.total_of_payments),
            note: "The sum of every payment in the schedule.".to_owned(),
        },
        Row {
            label: "Total cost",
            value: m(d.total_cost),
            note: "What renting costs if every payment is made on time. The refundable deposit is not part of it; late fees and damage charges are extra, as below.".to_owned(),
        },
        Row {
            label: "Cost of renting over the cash price",
            value: m(d.cost_of_renting),
            note: "The total of payments less the cash price.".to_owned(),
        },
        Row {
            label: "Early purchase",
            value: match &d.early_purchase {
                Some(_) => "Offered".to_owned(),
                None => "Not offered".to_owned(),
            },
            note: match &d.early_purchase {
                Some(e) => format!("{} The price after each payment is listed below.", e.terms),
                None if d.ownership_passes => {
                    "The goods become yours after the last payment; they cannot be bought out earlier.".to_owned()
                }
                None => "The goods are returned at the end of the agreement.".to_owned(),
            },
        },
    ];
    let late = d.fees.iter().find(|f| f.kind == RentalPaymentKind::LateFee);
    rows.push(Row {
        label: "Late fee",
        value: late
            .and_then(|f| f.amount)
            .map_or_else(|| "None".to_owned(), m),
        note: late.map_or_else(
            || "No fee is charged for a late payment.".to_owned(),
            |f| f.terms.clone(),
        ),
    });
    for fee in d
        .fees
        .iter()
        .filter(|f| f.kind != RentalPaymentKind::LateFee)
    {
        rows.push(Row {
            label: "Damage charges",
            value: fee.amount.map_or_else(|| "As assessed".to_owned(), m),
            note: fee.terms.clone(),
        });
    }
    rows.push(Row {
        label: "Maintenance and repairs",
        value: match d.maintainer {
            Maintainer::Shop => "The shop".to_owned(),
            Maintainer::Customer => "The customer".to_owned(),
        },
        note: maintainer_words(d.maintainer).to_owned(),
    });
    rows.push(Row {
        label: "Ownership",
        value: if d.ownership_passes {
            "Passes to you".to_owned()
        } else {
            "Stays with the shop".to_owned()
        },
        note: end_words(d.kind).to_owned(),
    });
    rows.push(Row {
        label: "Default",
        value: format!("{} days", d.default_after_days),
        note: format!(
            "The agreement is in default when a payment is still unpaid {} days after its due date.",
            d.default_after_days
        ),
    });
    let view = ContractHtml {
        doc,
        title: format!(
            "{} agreement {}",
            capitalised(kind_words(d.kind)),
            doc.contract_number
        ),
        kind: kind_words(d.kind),
        made_on: format_date(doc.made_on),
        start,
        end,
        rows,
        schedule: d
            .schedule
            .iter()
            .map(|i| Line {
                seq: i.seq,
                due_date: format_date(i.due_date),
                amount: m(i.amount),
            })
            .collect(),
        total: m(d.total_of_payments),
        early_terms: d.early_purchase.as_ref().map(|e| e.terms.clone()),
        buyouts: d
            .early_purchase
            .as_ref()
            .map(|e| {
                e.prices
                    .iter()
                    .map(|&(after, price)| Buyout {
                        after,
                        price: m(price),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    // The template is compiled and type-checked; it writes into a String,
    // which cannot fail.
    view.render().unwrap_or_default()
}

fn capitalised(words: &str) -> String {
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

#[cfg(test)]
#[path = "rental_document_tests.rs"]
mod tests;
