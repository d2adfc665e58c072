//! Property tests of the bulk import parser (CSV and JSON lines): any file
//! is read into rows or refused as a whole, never a panic; every row read
//! is within the catalog's limits; and what the exporter writes reads back
//! as the same products.
//!
//! Failures are not persisted to files (`failure_persistence: None`): a
//! shrunk failing case is kept as an ordinary regression test instead, so
//! nothing is written into the source tree when the suite runs.

use proptest::prelude::*;
use proptest::test_runner::Config;
use storekeep_domain::{
    Handle, ImportRow, ImportVariant, Inventory, MAX_AMOUNT, MAX_DESCRIPTION, MAX_QUANTITY,
    MAX_TAGS, MAX_TITLE, MAX_VARIANTS, Money, NewVariant, Product, ProductId, ProductStatus, Sku,
    Variant, VariantId, parse_tag,
};

use super::bulk::{Format, ImportError, read_rows, write_header, write_product};
use crate::wire::bulk::RowError;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// The CSV columns the importer knows (the exporter writes them all).
const COLUMNS: &[&str] = super::bulk::CSV_COLUMNS;

/// Asserts what every imported row must be, whatever the file said.
fn assert_within_limits(row: &ImportRow) -> Result<(), TestCaseError> {
    let single_line = |t: &str| {
        (1..=MAX_TITLE).contains(&t.chars().count())
            && t.trim() == t
            && !t.chars().any(char::is_control)
    };
    prop_assert!(single_line(&row.title), "title {:?}", row.title);
    prop_assert!(row.description.chars().count() <= MAX_DESCRIPTION);
    prop_assert!(
        !row.description
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    );
    prop_assert!(row.tags.len() <= MAX_TAGS);
    for t in &row.tags {
        prop_assert_eq!(parse_tag(t), Ok(t.clone()));
    }
    prop_assert!((1..=MAX_VARIANTS).contains(&row.variants.len()));
    let mut skus = std::collections::HashSet::new();
    for ImportVariant { variant: v, .. } in &row.variants {
        prop_assert!(skus.insert(v.sku.clone()), "sku twice: {}", v.sku.as_str());
        prop_assert!(single_line(&v.title), "variant title {:?}", v.title);
        prop_assert!(v.options.len() <= 10);
        for (k, val) in &v.options {
            prop_assert!(single_line(k) && k.chars().count() <= 50 && !k.contains(['=', '|']));
            prop_assert!(single_line(val) && val.chars().count() <= 100 && !val.contains('|'));
        }
        for m in std::iter::once(&v.price).chain(&v.compare_at_price) {
            prop_assert!((0..=MAX_AMOUNT).contains(&m.amount) && m.currency == "USD");
        }
        prop_assert!((0..=MAX_QUANTITY).contains(&v.on_hand));
    }
    Ok(())
}

fn assert_read(
    result: Result<Vec<Result<ImportRow, RowError>>, ImportError>,
) -> Result<(), TestCaseError> {
    match result {
        Ok(rows) => {
            for row in rows.iter().flatten() {
                assert_within_limits(row)?;
            }
            for e in rows.iter().filter_map(|r| r.as_ref().err()) {
                prop_assert!(!e.message.is_empty());
            }
        }
        Err(ImportError::Format(m)) => prop_assert!(!m.is_empty()),
        Err(ImportError::Store(e)) => prop_assert!(false, "reading touched the store: {e}"),
    }
    Ok(())
}

/// A cell: numbers of every size, names, quotes, separators, formula
/// starts, line breaks, option lists, and anything at all.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        any::<i64>().prop_map(|n| n.to_string()),
        (0..=MAX_AMOUNT).prop_map(|n| n.to_string()),
        Just(String::new()),
        "[a-z0-9][a-z0-9-]{0,10}",
        "[=+@'\t\r\n\" ,|-]{0,3}[ -~]{0,12}",
        "(draft|active|archived|USD|EUR|usd)",
        proptest::collection::vec(("[ a-z=]{0,12}", "[ a-z=]{0,100}"), 0..12).prop_map(|o| {
            o.into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("|")
        }),
    ]
}

/// A CSV file that mostly gets past the header: known columns (the
/// required ones usually among them), rows of cells joined by hand so
/// quoting is sometimes right and sometimes not.
fn csv_file() -> impl Strategy<Value = Vec<u8>> {
    let header = proptest::sample::subsequence(COLUMNS.to_vec(), 0..=COLUMNS.len())
        .prop_shuffle()
        .prop_map(|cols| cols.join(","));
    let rows = proptest::collection::vec(proptest::collection::vec(cell(), 0..15), 0..6);
    (header, rows, any::<bool>()).prop_map(|(header, rows, quote)| {
        let mut text = header;
        for row in rows {
            text.push('\n');
            let cells: Vec<String> = if quote {
                row.iter()
                    .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                    .collect()
            } else {
                row
            };
            text.push_str(&cells.join(","));
        }
        text.into_bytes()
    })
}

/// A JSON value that is sometimes a product line and often nearly one.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        cell().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let key = prop_oneof![
            proptest::sample::select(vec![
                "handle",
                "title",
                "description",
                "status",
                "tags",
                "categories",
                "variants",
                "sku",
                "price",
                "amount",
                "currency",
                "compare_at_price",
                "inventory",
                "options",
            ])
            .prop_map(str::to_owned),
            "[a-z]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A product line that is well-formed and nearly valid: values at and
/// just past their limits, variants with and without titles and options.
fn nearly_valid_line() -> impl Strategy<Value = String> {
    use serde_json::json;
    let edge = |max: i64| prop_oneof![-1..=1i64, (max - 1)..=(max + 1), 0..=max];
    let options = proptest::collection::btree_map("[A-Za-z ]{1,50}", "[A-Za-z =]{1,100}", 0..=11);
    let variant = (
        "[A-Z0-9-]{1,12}",
        proptest::option::of("[ -~]{0,210}"),
        options,
        edge(MAX_AMOUNT),
        proptest::option::of(edge(MAX_AMOUNT)),
        proptest::option::of(edge(MAX_QUANTITY)),
    )
        .prop_map(|(sku, title, options, price, compare_at, inventory)| {
            json!({
                "sku": sku,
                "title": title,
                "options": options,
                "price": {"amount": price, "currency": "USD"},
                "compare_at_price": compare_at.map(|a| json!({"amount": a, "currency": "USD"})),
                "inventory": inventory,
            })
        });
    (
        "[a-z0-9-]{1,20}",
        "[ -~]{1,210}",
        proptest::collection::vec("[ -~]{1,55}", 0..=3),
        proptest::collection::vec(variant, 0..=3),
    )
        .prop_map(|(handle, title, tags, variants)| {
            json!({"handle": handle, "title": title, "tags": tags, "variants": variants})
                .to_string()
        })
}

fn jsonl_file() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => json_value().prop_map(|v| v.to_string()),
            3 => nearly_valid_line(),
            1 => any::<String>(),
        ],
        0..6,
    )
    .prop_map(|lines| lines.join("\n").into_bytes())
}

// --- products as the store holds them, for the export round trip

fn trimmed(re: &'static str) -> impl Strategy<Value = String> {
    re.prop_map(|s| s.trim().to_owned())
        .prop_filter("empty once trimmed", |s| !s.is_empty())
}

/// A single-line text a spreadsheet might take for a formula, or not.
fn text(re: &'static str) -> impl Strategy<Value = String> {
    (
        proptest::sample::select(vec!["", "=", "+", "-", "@", "'", "''=", "'-"]),
        trimmed(re),
    )
        .prop_map(|(start, rest)| format!("{start}{rest}"))
}

fn handle() -> impl Strategy<Value = Handle> {
    "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?".prop_map(|h| Handle::parse(&h).unwrap())
}

fn variant(sku: String) -> impl Strategy<Value = Variant> {
    (
        text("[^\\p{Cc}]{1,40}"),
        proptest::collection::btree_map(
            trimmed("[^\\p{Cc}=|]{1,20}"),
            text("[^\\p{Cc}|]{1,30}"),
            0..4,
        ),
        0..=MAX_AMOUNT,
        proptest::option::of(0..=MAX_AMOUNT),
        0..=MAX_QUANTITY,
    )
        .prop_map(move |(title, options, price, compare_at, on_hand)| {
            let usd = |amount| Money {
                amount,
                currency: "USD".into(),
            };
            Variant {
                id: VariantId::new(),
                product_id: ProductId::new(),
                sku: Sku::parse(&sku).unwrap(),
                title,
                options,
                price: usd(price),
                compare_at_price: compare_at.map(usd),
                inventory: Inventory::new(on_hand, 0),
                position: 0,
            }
        })
}

/// A product as the store holds it, and its category handles.
fn product() -> impl Strategy<Value = (Product, Vec<String>)> {
    let skus = proptest::collection::btree_set("[-A-Za-z0-9_./]{1,20}", 1..4);
    let variants = skus.prop_flat_map(|skus| skus.into_iter().map(variant).collect::<Vec<_>>());
    let description = "([^\\p{Cc}]|\n|\r\n|\r|\t|\"|,){0,80}".prop_map(|d| d.trim().to_owned());
    let tags = proptest::collection::vec(text("[^\\p{Cc},|]{1,20}"), 0..5).prop_map(|tags| {
        let mut out: Vec<String> = Vec::new();
        for t in tags.iter().filter_map(|t| parse_tag(t).ok()) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    });
    (
        handle(),
        text("[^\\p{Cc}]{1,60}"),
        description,
        proptest::sample::select(vec![
            ProductStatus::Draft,
            ProductStatus::Active,
            ProductStatus::Archived,
        ]),
        tags,
        proptest::collection::vec(handle().prop_map(|h| h.to_string()), 0..3),
        variants,
    )
        .prop_map(
            |(handle, title, description, status, tags, categories, variants)| {
                let now = chrono::Utc::now();
                let product = Product {
                    id: ProductId::new(),
                    handle,
                    title,
                    description,
                    status,
                    tags,
                    categories: Vec::new(),
                    variants,
                    images: Vec::new(),
                    created_at: now,
                    updated_at: now,
                };
                (product, categories)
            },
        )
}

/// The rows an import of `p` should give (one per variant for CSV).
fn expected(p: &Product, categories: &[String], variants: &[Variant], line: u64) -> ImportRow {
    ImportRow {
        line,
        handle: p.handle.clone(),
        title: p.title.clone(),
        description: p.description.clone(),
        status: Some(p.status),
        tags: p.tags.clone(),
        categories: categories
            .iter()
            .map(|c| Handle::parse(c).unwrap())
            .collect(),
        variants: variants
            .iter()
            .map(|v| ImportVariant {
                variant: NewVariant {
                    sku: v.sku.clone(),
                    title: v.title.clone(),
                    options: v.options.clone(),
                    price: v.price.clone(),
                    compare_at_price: v.compare_at_price.clone(),
                    on_hand: v.inventory.on_hand,
                },
                set_stock: true,
            })
            .collect(),
    }
}

fn exported(format: Format, products: &[(Product, Vec<String>)]) -> Vec<u8> {
    let mut out = Vec::new();
    write_header(format, &mut out).unwrap();
    for (p, categories) in products {
        write_product(format, p, categories.clone(), &mut out).unwrap();
    }
    out
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_bytes_as_csv_are_rows_within_limits_or_a_refused_file(
        bytes in prop_oneof![any::<Vec<u8>>(), csv_file()],
    ) {
        assert_read(read_rows(&bytes[..], Format::Csv, "USD"))?;
    }

    #[test]
    fn any_bytes_as_json_lines_are_rows_within_limits_or_a_refused_file(
        bytes in prop_oneof![any::<Vec<u8>>(), jsonl_file()],
    ) {
        assert_read(read_rows(&bytes[..], Format::JsonLines, "USD"))?;
    }

    #[test]
    fn an_exported_csv_imports_as_the_same_products(
        products in proptest::collection::vec(product(), 1..4),
    ) {
        let file = exported(Format::Csv, &products);
        let rows = read_rows(&file[..], Format::Csv, "USD").unwrap();
        let want: Vec<ImportRow> = products
            .iter()
            .flat_map(|(p, c)| p.variants.iter().map(move |v| expected(p, c, std::slice::from_ref(v), 0)))
            .collect();
        prop_assert_eq!(rows.len(), want.len());
        let mut last_line = 1;
        for (got, want) in rows.into_iter().zip(want) {
            let got = got.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            // Line numbers count the header and line breaks inside cells.
            prop_assert!(got.line > last_line);
            last_line = got.line;
            prop_assert_eq!(got, ImportRow { line: last_line, ..want });
        }
    }

    #[test]
    fn exported_json_lines_import_as_the_same_products(
        products in proptest::collection::vec(product(), 1..4),
    ) {
        let file = exported(Format::JsonLines, &products);
        let rows = read_rows(&file[..], Format::JsonLines, "USD").unwrap();
        prop_assert_eq!(rows.len(), products.len());
        for (i, (got, (p, c))) in rows.into_iter().zip(&products).enumerate() {
            let got = got.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(got, expected(p, c, &p.variants, i as u64 + 1));
        }
    }
}

/// Found by `any_bytes_as_json_lines_are_rows_within_limits_or_a_refused_file`:
/// a variant with no title took its option values as title, however long.
#[test]
fn a_title_made_from_long_option_values_is_refused_not_stored_too_long() {
    let line = serde_json::json!({"handle": "h", "title": "T", "variants": [{
        "sku": "S-1",
        "options": {"A": "a".repeat(100), "B": "b".repeat(100)},
        "price": {"amount": 1, "currency": "USD"},
    }]});
    let rows = read_rows(line.to_string().as_bytes(), Format::JsonLines, "USD").unwrap();
    let err = rows[0].as_ref().unwrap_err();
    assert_eq!(
        err.message,
        "variants[0].title: is required: the option values together are longer than 200 characters"
    );
}
