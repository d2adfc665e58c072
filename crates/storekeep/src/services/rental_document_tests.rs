use chrono::NaiveDate;
use storekeep_domain::{
    BuyoutRule, DepositRule, LateFeeRule, Maintainer, RentalKind, RentalTerms, TermUnit,
};
use storekeep_store::rules::rental_disclosure::disclosure;

use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn laptop_terms() -> RentalTerms {
    RentalTerms {
        kind: RentalKind::RentToOwn,
        term_unit: TermUnit::Month,
        term: 12,
        min_term: 6,
        max_term: 36,
        price_per_period: 4_999,
        deposit: DepositRule::Percent { bps: 1_250 },
        late_fee: LateFeeRule::Fixed {
            amount: 1_500,
            grace_days: 5,
        },
        buyout: BuyoutRule::CashPriceMinusRent { bps: 5_000 },
        extension_allowed: true,
        maintainer: Maintainer::Shop,
        default_after_days: 30,
    }
}

fn document(terms: &RentalTerms, term: i32, customer: &str) -> ContractDocument {
    ContractDocument {
        shop_name: "Acme Refurb".into(),
        shop_contact: vec!["1 Dock Road, Leeds".into(), "care@acme.example".into()],
        customer_name: customer.into(),
        customer_email: "ada@example.com".into(),
        contract_number: "RC-0042".into(),
        made_on: d(2027, 1, 31),
        time_zone: "Europe/London".into(),
        product_title: "ThinkPad T14 (refurbished)".into(),
        sku: "TP-T14-A".into(),
        serial: Some("PF-3XK9Q".into()),
        currency: "GBP".into(),
        disclosure: disclosure(terms, 49_900, term, d(2027, 1, 31)),
    }
}

/// The text of the disclosure row labelled `label`.
fn row<'a>(html: &'a str, label: &str) -> &'a str {
    let start = html
        .find(&format!("<td class=\"label\">{label}</td>"))
        .unwrap_or_else(|| panic!("no row {label}"));
    let rest = &html[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

#[test]
fn every_disclosure_is_shown_with_its_exact_amount() {
    let html = render_contract_document(&document(&laptop_terms(), 12, "Ada Lovelace"));
    for (label, amount) in [
        ("Cash price", "£499.00"),
        ("Deposit", "£62.38"),
        ("Amount of each payment", "£49.99"),
        ("Number of payments", "12"),
        ("Timing of payments", "31 January 2027 to 31 December 2027"),
        ("Due at signing", "£112.37"),
        ("Total of payments", "£599.88"),
        ("Total cost", "£599.88"),
        ("Cost of renting over the cash price", "£100.88"),
        ("Early purchase", "Offered"),
        ("Late fee", "£15.00"),
        ("Damage charges", "As assessed"),
        ("Maintenance and repairs", "The shop"),
        ("Ownership", "Passes to you"),
        ("Default", "30 days"),
    ] {
        let r = row(&html, label);
        assert!(
            r.contains(&format!("<td class=\"amount\">{amount}</td>")),
            "{label}: {r}"
        );
    }
    assert!(row(&html, "Deposit").contains("12.5% of the cash price"));
    assert!(row(&html, "Late fee").contains("unpaid 5 days after its due date"));
    assert!(row(&html, "Damage charges").contains("taken from the deposit"));
    assert!(row(&html, "Number of payments").contains("12 monthly payments of £49.99"));
    assert!(row(&html, "Early purchase").contains("cash price less 50% of the rent paid"));

    // The parties, the goods and the dates.
    for text in [
        "Rent-to-own agreement RC-0042",
        "Made on 31 January 2027",
        "Europe/London",
        "Acme Refurb",
        "1 Dock Road, Leeds",
        "Ada Lovelace",
        "ada@example.com",
        "ThinkPad T14 (refurbished)",
        "TP-T14-A",
        "PF-3XK9Q",
    ] {
        assert!(html.contains(text), "{text}");
    }
    // The schedule, month-end safe, and its total.
    assert_eq!(html.matches("<tr class=\"installment\">").count(), 12);
    assert!(html.contains("<td>2</td><td>28 February 2027</td><td class=\"amount\">£49.99</td>"));
    assert!(
        html.contains("<td colspan=\"2\">Total of payments</td><td class=\"amount\">£599.88</td>")
    );
    // The buy-out price after each payment but the last.
    assert_eq!(html.matches("<tr class=\"buyout\">").count(), 11);
    assert!(html.contains("<td>1</td><td class=\"amount\">£474.00</td>"));
    assert!(html.contains("<td>11</td><td class=\"amount\">£224.05</td>"));
    // Both parties sign.
    assert!(html.contains("For Acme Refurb: name, signature and date"));
    assert!(html.contains("Ada Lovelace: signature and date"));
}

#[test]
fn the_page_prints_on_its_own() {
    let html = render_contract_document(&document(&laptop_terms(), 12, "Ada Lovelace"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("@page") && html.contains("@media print"));
    assert!(!html.contains("<script"), "no JavaScript");
    for external in ["src=", "<link", "http://", "https://", "url("] {
        assert!(!html.contains(external), "no external asset: {external}");
    }
}

#[test]
fn customer_supplied_text_is_escaped() {
    let mut doc = document(
        &laptop_terms(),
        12,
        "<script>alert(1)</script> Mallory & Co",
    );
    doc.customer_email = "\"><img src=x>@example.com".into();
    doc.product_title = "<b>Bold</b> laptop".into();
    let html = render_contract_document(&doc);
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>Bold"));
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62; Mallory &#38; Co")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Mallory &amp; Co"),
        "{html}"
    );
}

#[test]
fn a_three_year_schedule_has_36_rows() {
    let html = render_contract_document(&document(&laptop_terms(), 36, "Ada Lovelace"));
    assert_eq!(html.matches("<tr class=\"installment\">").count(), 36);
    assert!(html.contains("<td>36</td><td>31 December 2029</td><td class=\"amount\">£49.99</td>"));
    assert!(
        html.contains("<td>14</td><td>29 February 2028</td>"),
        "a leap February"
    );
    // 36 × 49.99 = 1,799.64.
    assert!(
        html.contains(
            "<td colspan=\"2\">Total of payments</td><td class=\"amount\">£1,799.64</td>"
        )
    );
    assert!(row(&html, "Cost of renting over the cash price").contains("£1,300.64"));
    assert_eq!(html.matches("<tr class=\"buyout\">").count(), 35);
    // After 24 payments half the rent paid (599.88) passes the cash price: 0, not −100.88.
    assert!(
        html.contains("<td>24</td><td class=\"amount\">£0.00</td>"),
        "never negative"
    );
}

#[test]
fn a_fixed_term_rental_says_the_goods_come_back() {
    let terms = RentalTerms {
        kind: RentalKind::FixedTerm,
        term_unit: TermUnit::Week,
        price_per_period: 1_200,
        deposit: DepositRule::None,
        late_fee: LateFeeRule::None,
        buyout: BuyoutRule::None,
        maintainer: Maintainer::Customer,
        ..laptop_terms()
    };
    let mut doc = document(&terms, 4, "Ada Lovelace");
    doc.serial = None;
    let html = render_contract_document(&doc);
    assert!(html.contains("Fixed-term rental agreement RC-0042"));
    assert!(row(&html, "Ownership").contains("Stays with the shop"));
    assert!(row(&html, "Ownership").contains("you return them at the end"));
    assert!(row(&html, "Early purchase").contains("Not offered"));
    assert!(row(&html, "Late fee").contains("<td class=\"amount\">None</td>"));
    assert!(row(&html, "Maintenance and repairs").contains("The customer"));
    assert!(row(&html, "Deposit").contains("£0.00"));
    assert!(row(&html, "Number of payments").contains("4 weekly payments of £12.00"));
    assert!(html.contains("assigned at hand-over"));
    assert!(!html.contains("Buying the goods early"));
    assert_eq!(html.matches("<tr class=\"installment\">").count(), 4);
}
