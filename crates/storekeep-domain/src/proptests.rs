//! Property tests of the parsers that read untrusted text: list cursors,
//! page requests, and the validated newtypes every request body goes
//! through. Each parser is given arbitrary input and must answer `Ok` with
//! a value inside its documented limits, or an error; never panic.
//!
//! Failures are not persisted to files (`failure_persistence: None`): a
//! shrunk failing case is kept as an ordinary regression test instead, so
//! nothing is written into the source tree when the suite runs.

use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::page::MAX_PAGE_LIMIT;
use crate::{
    Handle, MAX_AMOUNT, Money, PageRequest, ProductCursor, ProductId, ProductSort, Sku,
    parse_country, parse_coupon_code, parse_region, parse_tag, title_key,
};

fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

const SORTS: [ProductSort; 4] = [
    ProductSort::Newest,
    ProductSort::PriceAsc,
    ProductSort::PriceDesc,
    ProductSort::Title,
];

fn sort() -> impl Strategy<Value = ProductSort> {
    proptest::sample::select(SORTS.to_vec())
}

fn product_id() -> impl Strategy<Value = ProductId> {
    any::<u128>().prop_map(|n| ProductId(uuid::Uuid::from_u128(n)))
}

/// A cursor the server could issue for `sort`: titles are anything a
/// product title may be (no control characters, 1 to 200 characters).
fn issued(sort: ProductSort) -> BoxedStrategy<ProductCursor> {
    match sort {
        ProductSort::Newest => product_id().prop_map(ProductCursor::Newest).boxed(),
        ProductSort::PriceAsc | ProductSort::PriceDesc => (0..=MAX_AMOUNT, product_id())
            .prop_map(|(a, id)| ProductCursor::Price(a, id))
            .boxed(),
        ProductSort::Title => ("[^\\p{Cc}]{1,200}", product_id())
            .prop_map(|(t, id)| ProductCursor::Title(title_key(&t), id))
            .boxed(),
    }
}

fn sort_and_cursor() -> impl Strategy<Value = (ProductSort, ProductCursor)> {
    sort().prop_flat_map(|s| (Just(s), issued(s)))
}

/// Text that looks like a cursor often enough to get past the first checks.
fn cursorish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[nptq]\\.[0-9a-fA-F.+-]{0,80}",
        ("[nptq]", any::<String>(), any::<String>()).prop_map(|(c, a, b)| format!("{c}.{a}.{b}")),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_issued_cursor_decodes_to_itself((sort, cursor) in sort_and_cursor()) {
        let raw = cursor.encode(sort);
        // It travels in a query string and is accepted as a page request.
        prop_assert!(raw.chars().all(|c| c.is_ascii_graphic()), "{raw}");
        prop_assert!(PageRequest::new(None, Some(raw.clone())).is_ok(), "{raw}");
        prop_assert_eq!(ProductCursor::decode(sort, &raw), Some(cursor));
    }

    #[test]
    fn a_cursor_is_refused_by_every_other_sort((sort, cursor) in sort_and_cursor()) {
        let raw = cursor.encode(sort);
        for other in SORTS.into_iter().filter(|s| *s != sort) {
            prop_assert_eq!(ProductCursor::decode(other, &raw), None, "{} for {:?}", raw, other);
        }
    }

    /// Cursors are positions, not secrets: a changed one is refused or is
    /// another well-formed position, never one outside what the server
    /// could have issued.
    #[test]
    fn any_text_decodes_to_nothing_or_to_a_well_formed_position(
        sort in sort(),
        raw in cursorish(),
    ) {
        if let Some(c) = ProductCursor::decode(sort, &raw) {
            match &c {
                ProductCursor::Newest(_) => prop_assert_eq!(sort, ProductSort::Newest),
                ProductCursor::Price(..) => {
                    prop_assert!(matches!(sort, ProductSort::PriceAsc | ProductSort::PriceDesc));
                }
                ProductCursor::Title(key, _) => {
                    prop_assert_eq!(sort, ProductSort::Title);
                    prop_assert!(key.chars().count() <= 120);
                    prop_assert!(!key.chars().any(char::is_control), "{:?}", key);
                }
            }
            // Its canonical form decodes to the same position.
            prop_assert_eq!(ProductCursor::decode(sort, &c.encode(sort)), Some(c));
        }
    }

    #[test]
    fn a_page_request_is_in_range_or_refused(
        limit in prop_oneof![Just(None), any::<u32>().prop_map(Some), (0u32..=201).prop_map(Some)],
        after in proptest::option::of(any::<String>()),
    ) {
        match PageRequest::new(limit, after.clone()) {
            Ok(p) => {
                prop_assert!((1..=MAX_PAGE_LIMIT).contains(&p.limit));
                prop_assert_eq!(p.fetch_limit(), i64::from(p.limit) + 1);
                if let Some(a) = &p.after {
                    prop_assert!(!a.is_empty() && a.len() <= 1100);
                    prop_assert!(a.chars().all(|c| c.is_ascii_graphic()));
                }
            }
            Err(_) => prop_assert!(
                limit.is_some_and(|l| l == 0 || l > MAX_PAGE_LIMIT)
                    || after.is_some_and(|a| !a.is_empty())
            ),
        }
    }

    #[test]
    fn a_parsed_tag_is_within_its_limits_and_parses_to_itself(raw in any::<String>()) {
        if let Ok(t) = parse_tag(&raw) {
            prop_assert!((1..=50).contains(&t.chars().count()), "{:?}", t);
            prop_assert!(!t.chars().any(|c| c == ',' || c == '|' || c.is_control()));
            prop_assert_eq!(parse_tag(&t), Ok(t.clone()));
        }
    }

    #[test]
    fn a_parsed_handle_or_sku_is_within_its_limits_and_parses_to_itself(
        raw in prop_oneof![any::<String>(), "[ a-z0-9-]{0,130}", "[ A-Za-z0-9_./-]{0,70}"],
    ) {
        if let Ok(h) = Handle::parse(&raw) {
            let s = h.as_str();
            prop_assert!((1..=120).contains(&s.len()));
            prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(!s.starts_with('-') && !s.ends_with('-'));
            prop_assert_eq!(Handle::parse(s), Ok(h.clone()));
        }
        if let Ok(sku) = Sku::parse(&raw) {
            let s = sku.as_str();
            prop_assert!((1..=64).contains(&s.len()));
            prop_assert!(!s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()));
            prop_assert_eq!(Sku::parse(s), Ok(sku.clone()));
        }
    }

    #[test]
    fn parsed_codes_are_within_their_limits_and_parse_to_themselves(
        raw in prop_oneof![any::<String>(), "[ a-zA-Z0-9_-]{0,42}"],
    ) {
        if let Ok(c) = parse_country(&raw) {
            prop_assert!(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()));
            prop_assert_eq!(parse_country(&c), Ok(c.clone()));
        }
        if let Ok(r) = parse_region(&raw) {
            prop_assert!((1..=3).contains(&r.len()));
            prop_assert!(r.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            prop_assert_eq!(parse_region(&r), Ok(r.clone()));
        }
        if let Ok(c) = parse_coupon_code(&raw) {
            prop_assert!((3..=40).contains(&c.len()));
            prop_assert!(!c.bytes().any(|b| b.is_ascii_lowercase()));
            prop_assert_eq!(parse_coupon_code(&c), Ok(c.clone()));
        }
    }

    #[test]
    fn money_is_accepted_only_in_range_and_in_the_shop_currency(
        amount in prop_oneof![any::<i64>(), -2i64..=2, (MAX_AMOUNT - 2)..=(MAX_AMOUNT + 2)],
        currency in prop_oneof![Just("USD".to_owned()), "[A-Za-z]{0,4}"],
    ) {
        let ok = Money { amount, currency: currency.clone() }.validate("USD").is_ok();
        prop_assert_eq!(ok, (0..=MAX_AMOUNT).contains(&amount) && currency == "USD");
    }
}
