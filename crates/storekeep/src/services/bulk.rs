//! Bulk import and export of products, as CSV (one row per variant) or JSON
//! lines (one product per line). The format is documented in docs/API.md;
//! an export re-imports unchanged.
//!
//! Rows are parsed and checked here, then applied by the store in batches
//! of [`IMPORT_BATCH`], each row atomically on its own: an invalid row is
//! reported with its line number and reason, every valid row is imported.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde::{Deserialize, Serialize};
use storekeep_domain::{
    AuditContext, Handle, ImportOutcome, ImportRow, ImportVariant, Money, Product, ProductStatus,
    Tenant, ValidationErrors,
};
use storekeep_store::catalog::IMPORT_BATCH;
use storekeep_store::{Store, StoreError};

use super::bulk_csv::{QuoteWatch, guard_cell, unguard_cell};
use super::catalog::{parse_description, parse_tags, parse_title, parse_variant};
use crate::wire::bulk::{ImportReport, RowError};
use crate::wire::catalog::VariantInput;

/// Most row errors listed in a report (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// From a file name's extension.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            _ => None,
        }
    }

    /// From a request's content type.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct.split(';').next()?.trim() {
            "text/csv" => Some(Self::Csv),
            "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" => {
                Some(Self::JsonLines)
            }
            _ => None,
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::JsonLines => "application/x-ndjson",
        }
    }
}

impl ImportReport {
    fn fail(&mut self, line: u64, message: String) {
        self.failed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(RowError { line, message });
        }
    }
}

/// The whole file is unusable (not a row of it): no header, an unknown column.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Format(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const CSV_COLUMNS: &[&str] = &[
    "handle",
    "title",
    "description",
    "status",
    "tags",
    "categories",
    "sku",
    "variant_title",
    "options",
    "price",
    "compare_at_price",
    "currency",
    "inventory",
];
const CSV_REQUIRED: &[&str] = &["handle", "title", "sku", "price"];

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    handle: String,
    title: String,
    #[serde(default)]
    description: String,
    status: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    variants: Vec<VariantInput>,
}

fn errors_message(e: ValidationErrors) -> String {
    e.0.iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks one product line (from either format) into an import row.
fn check(line: u64, l: JsonLine, currency: &str) -> Result<ImportRow, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let handle = errors.check("handle", Handle::parse(&l.handle));
    let title = errors.check("title", parse_title(&l.title, storekeep_domain::MAX_TITLE));
    let description = errors.check("description", parse_description(&l.description));
    // Left out: unchanged on an existing product, `draft` on a new one.
    let status = match l.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => errors.check("status", ProductStatus::parse(s)).map(Some),
        None => Some(None),
    };
    let tags = parse_tags(&mut errors, "tags", &l.tags);
    let categories: Vec<Handle> = l
        .categories
        .iter()
        .enumerate()
        .filter_map(|(i, c)| errors.check(&format!("categories[{i}]"), Handle::parse(c)))
        .collect();
    if l.variants.is_empty() {
        errors.add("variants", "a product needs at least one variant");
    }
    if l.variants.len() > storekeep_domain::MAX_VARIANTS {
        errors.add(
            "variants",
            format!("at most {} variants", storekeep_domain::MAX_VARIANTS),
        );
    }
    let mut skus = std::collections::HashSet::new();
    let mut variants = Vec::new();
    for (i, v) in l.variants.iter().enumerate() {
        let field = format!("variants[{i}]");
        if let Some(parsed) = parse_variant(&mut errors, &field, v, currency) {
            if !skus.insert(parsed.sku.clone()) {
                errors.add(&format!("{field}.sku"), "appears twice in this product");
            }
            variants.push(ImportVariant {
                variant: parsed,
                set_stock: v.inventory.is_some(),
            });
        }
    }
    errors.into_result()?;
    Ok(ImportRow {
        line,
        handle: handle.expect("checked"),
        title: title.expect("checked"),
        description: description.expect("checked"),
        status: status.expect("checked"),
        tags,
        categories,
        variants,
    })
}

fn split_list(s: &str) -> Vec<String> {
    s.split('|')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn csv_line(
    line: u64,
    record: &csv::StringRecord,
    index: &HashMap<&str, usize>,
    currency: &str,
) -> Result<ImportRow, String> {
    let get = |name: &str| {
        unguard_cell(
            index
                .get(name)
                .and_then(|i| record.get(*i))
                .unwrap_or("")
                .trim(),
        )
    };
    // Problems of the cells themselves; the row is checked on regardless,
    // so every problem of the row is reported at once.
    let mut errors = ValidationErrors::new();
    let number = |field: &str, raw: &str, what: &str, errors: &mut ValidationErrors| {
        raw.parse::<i64>()
            .map_err(|_| errors.add(field, format!("'{raw}' is not {what}")))
            .ok()
    };
    const MINOR_UNITS: &str = "a whole number of minor units (34900 for 349.00)";
    let price = number("price", get("price"), MINOR_UNITS, &mut errors);
    let compare_at = match get("compare_at_price") {
        "" => None,
        raw => number("compare_at_price", raw, MINOR_UNITS, &mut errors),
    };
    // Empty or no column: stock left as it is (none on a new variant).
    let inventory = match get("inventory") {
        "" => None,
        raw => number(
            "inventory",
            raw,
            "a whole number of units on hand",
            &mut errors,
        ),
    };
    // The row's currency, checked against the shop's with the prices.
    let shop_currency = currency;
    let currency = match get("currency") {
        "" => shop_currency.to_owned(),
        c => c.to_owned(),
    };
    let mut options = BTreeMap::new();
    for pair in split_list(get("options")) {
        match pair.split_once('=') {
            Some((k, v)) => {
                options.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            None => errors.add("options", format!("'{pair}' is not Name=Value")),
        }
    }
    let variant = VariantInput {
        sku: get("sku").to_owned(),
        title: Some(get("variant_title"))
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        options,
        price: Money {
            amount: price.unwrap_or(1),
            currency: currency.clone(),
        },
        compare_at_price: compare_at.map(|amount| Money {
            amount,
            currency: currency.clone(),
        }),
        inventory,
    };
    let checked = check(
        line,
        JsonLine {
            handle: get("handle").to_owned(),
            title: get("title").to_owned(),
            description: get("description").to_owned(),
            status: Some(get("status").to_owned()).filter(|s| !s.is_empty()),
            tags: split_list(get("tags")),
            categories: split_list(get("categories")),
            variants: vec![variant],
        },
        shop_currency,
    );
    // Name each problem by its column; a cell already reported is not
    // reported again for what its placeholder value failed.
    for e in checked.as_ref().err().map_or(&[][..], |e| &e.0) {
        let field = csv_field(&e.field);
        if !errors.0.iter().any(|known| known.field == field) {
            errors.add(&field, e.message.clone());
        }
    }
    errors.0.sort_by_key(|e| {
        let column = e.field.split(['[', '.']).next().unwrap_or("");
        CSV_COLUMNS
            .iter()
            .position(|c| *c == column)
            .unwrap_or(CSV_COLUMNS.len())
    });
    match checked {
        Ok(row) if errors.is_empty() => Ok(row),
        _ => Err(errors_message(errors)),
    }
}

/// The CSV column a checked field comes from (a CSV row has one variant).
fn csv_field(field: &str) -> String {
    match field.strip_prefix("variants[0].") {
        Some("title") => "variant_title".to_owned(),
        Some(rest) => rest.to_owned(),
        None => field.to_owned(),
    }
}

/// Reads every row of `source`: checked rows, or a line number and reason.
pub fn read_rows(
    source: impl Read,
    format: Format,
    currency: &str,
) -> Result<Vec<Result<ImportRow, RowError>>, ImportError> {
    match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .trim(csv::Trim::Headers)
                .from_reader(QuoteWatch::new(source));
            let headers = reader
                .headers()
                .map_err(|e| ImportError::Format(format!("the header row is unreadable: {e}")))?
                .clone();
            if reader.get_ref().unclosed() == Some(1) {
                return Err(ImportError::Format(
                    "the header row opens a quoted field (\") that is never closed".into(),
                ));
            }
            let mut index = HashMap::new();
            for (i, h) in headers.iter().enumerate() {
                let Some(known) = CSV_COLUMNS.iter().find(|c| **c == h) else {
                    return Err(ImportError::Format(format!(
                        "unknown column '{h}'; the columns are {}",
                        CSV_COLUMNS.join(", ")
                    )));
                };
                index.insert(*known, i);
            }
            if let Some(missing) = CSV_REQUIRED.iter().find(|c| !index.contains_key(*c)) {
                return Err(ImportError::Format(format!(
                    "the header has no '{missing}' column"
                )));
            }
            let mut rows = Vec::new();
            for record in reader.records() {
                match record {
                    Ok(r) => {
                        let line = r.position().map_or(0, |p| p.line());
                        rows.push(
                            csv_line(line, &r, &index, currency)
                                .map_err(|message| RowError { line, message }),
                        );
                    }
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        rows.push(Err(RowError {
                            line,
                            message: format!("not a valid CSV row: {e}"),
                        }));
                        // A bad row (invalid UTF-8) is that row's problem;
                        // only a read failure ends the file.
                        if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                            break;
                        }
                    }
                }
            }
            // An unclosed quote swallowed the rest of the file into the
            // last row: that is its problem, not its columns'.
            if let (Some(opened), Some(last)) = (reader.get_ref().unclosed(), rows.last_mut()) {
                let line = match last {
                    Ok(r) => r.line,
                    Err(e) => e.line,
                };
                *last = Err(RowError {
                    line,
                    message: format!(
                        "a quoted field opened on line {opened} is never closed, so the rest of the file was read as one field; close the quote (write \"\" for a quote inside a quoted field)"
                    ),
                });
            }
            Ok(rows)
        }
        Format::JsonLines => {
            let mut text = String::new();
            std::io::BufReader::new(source)
                .read_to_string(&mut text)
                .map_err(|e| ImportError::Format(format!("the file is not UTF-8 text: {e}")))?;
            Ok(text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| {
                    let line = i as u64 + 1;
                    serde_json::from_str::<JsonLine>(l)
                        .map_err(|e| format!("not a valid product line: {e}"))
                        .and_then(|j| check(line, j, currency).map_err(errors_message))
                        .map_err(|message| RowError { line, message })
                })
                .collect())
        }
    }
}

fn row_message(e: &StoreError) -> String {
    match e {
        StoreError::Conflict { field: "sku" } => "sku belongs to another product".into(),
        StoreError::Conflict { field } => format!("{field} is already taken"),
        StoreError::UnknownReference {
            field: "categories",
        } => "a category handle does not exist in this shop".into(),
        StoreError::UnknownReference { field } => format!("{field} does not exist"),
        StoreError::LimitReached(what) => format!("the shop's plan allows no more {what}"),
        StoreError::Invalid(m) => (*m).to_owned(),
        StoreError::NotFound(what) => format!("{what} not found"),
        StoreError::InvalidCursor
        | StoreError::Unavailable(_)
        | StoreError::Contended(_)
        | StoreError::Other(_) => "the row could not be stored (see the server log)".into(),
    }
}

/// Imports checked rows in batches; `progress(done, total)` after each.
/// [`import`] through the services (the HTTP import: no progress report).
pub async fn import_into(
    svc: &crate::services::Services,
    tenant: &Tenant,
    rows: Vec<Result<ImportRow, RowError>>,
    audit: &AuditContext,
) -> Result<ImportReport, ImportError> {
    import(svc.store.as_ref(), tenant, rows, audit, |_, _| {}).await
}

/// [`export`] through the services.
pub async fn export_from(
    svc: &crate::services::Services,
    tenant: &Tenant,
    format: Format,
    out: &mut impl std::io::Write,
) -> anyhow::Result<u64> {
    export(svc.store.as_ref(), tenant, format, out).await
}

pub async fn import(
    store: &dyn Store,
    tenant: &Tenant,
    rows: Vec<Result<ImportRow, RowError>>,
    audit: &AuditContext,
    mut progress: impl FnMut(u64, u64),
) -> Result<ImportReport, ImportError> {
    let total = rows.len() as u64;
    let mut report = ImportReport::default();
    let mut done = 0;
    let mut failures: Vec<RowError> = Vec::new();
    for chunk in rows.chunks(IMPORT_BATCH) {
        let mut batch = Vec::with_capacity(chunk.len());
        for r in chunk {
            match r {
                Ok(row) => batch.push(row.clone()),
                Err(e) => failures.push(e.clone()),
            }
        }
        let outcomes = store
            .import_rows(tenant.id, &batch, tenant.limits.max_products, audit)
            .await?;
        for (row, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                Ok(ImportOutcome::Created) => report.created += 1,
                Ok(ImportOutcome::Updated) => report.updated += 1,
                Err(e) => failures.push(RowError {
                    line: row.line,
                    message: row_message(&e),
                }),
            }
        }
        done += chunk.len() as u64;
        progress(done, total);
    }
    failures.sort_by_key(|f| f.line);
    for f in failures {
        report.fail(f.line, f.message);
    }
    Ok(report)
}

/// A row error's message (as [`import`] reports it: `column: problem`
/// parts joined by `; `, or a whole-row sentence) split by the CSV column
/// each part names, for a page that lists column and message apart. A
/// part naming no column (a row that is not valid CSV, a JSON line) has
/// the column `""`; a part without its own column continues the previous
/// one (a message that itself contains `; `).
pub fn columns_of(message: &str) -> Vec<(String, String)> {
    let root = |field: &str| field.split(['[', '.']).next().unwrap_or("").to_owned();
    let known = |c: &str| CSV_COLUMNS.contains(&c) || c == "variants";
    let mut out: Vec<(String, String)> = Vec::new();
    for part in message.split("; ") {
        let labelled = part
            .split_once(": ")
            .filter(|(field, _)| known(&root(field)) && !field.contains(' '));
        // A store refusal names its column first: "sku belongs to …".
        let named = part
            .split_once(' ')
            .map(|(first, _)| first)
            .filter(|first| known(first));
        match (labelled, named) {
            (Some((field, problem)), _) => out.push((field.to_owned(), problem.to_owned())),
            (None, Some(column)) => out.push((column.to_owned(), part.to_owned())),
            (None, None) if part.starts_with("a category handle") => {
                out.push(("categories".into(), part.to_owned()));
            }
            (None, None) => match out.last_mut() {
                Some((_, m)) => {
                    m.push_str("; ");
                    m.push_str(part);
                }
                None => out.push((String::new(), part.to_owned())),
            },
        }
    }
    out
}

fn csv_out<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out)
}

/// Writes what comes before the first product: the CSV header row.
pub(super) fn write_header(format: Format, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    if format == Format::Csv {
        let mut w = csv_out(&mut *out);
        w.write_record(CSV_COLUMNS)?;
        w.flush()?;
    }
    Ok(())
}

/// Writes one product as the export does: a CSV row per variant, or one
/// JSON line. `categories` are the handles of its categories.
pub(super) fn write_product(
    format: Format,
    p: &Product,
    categories: Vec<String>,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    match format {
        Format::Csv => {
            let mut w = csv_out(&mut *out);
            for v in &p.variants {
                let options = v
                    .options
                    .iter()
                    .map(|(k, val)| format!("{k}={val}"))
                    .collect::<Vec<_>>()
                    .join("|");
                let cells = [
                    p.handle.as_str(),
                    &p.title,
                    &p.description,
                    p.status.as_str(),
                    &p.tags.join("|"),
                    &categories.join("|"),
                    v.sku.as_str(),
                    &v.title,
                    &options,
                    &v.price.amount.to_string(),
                    &v.compare_at_price
                        .as_ref()
                        .map(|m| m.amount.to_string())
                        .unwrap_or_default(),
                    &v.price.currency,
                    &v.inventory.on_hand.to_string(),
                ];
                // Opened in a spreadsheet, no cell runs as a formula.
                w.write_record(cells.iter().map(|c| guard_cell(c).into_owned()))?;
            }
            w.flush()?;
        }
        Format::JsonLines => {
            let line = JsonLine {
                handle: p.handle.to_string(),
                title: p.title.clone(),
                description: p.description.clone(),
                status: Some(p.status.as_str().to_owned()),
                tags: p.tags.clone(),
                categories,
                variants: p
                    .variants
                    .iter()
                    .map(|v| VariantInput {
                        sku: v.sku.as_str().to_owned(),
                        title: Some(v.title.clone()),
                        options: v.options.clone(),
                        price: v.price.clone(),
                        compare_at_price: v.compare_at_price.clone(),
                        inventory: Some(v.inventory.on_hand),
                    })
                    .collect(),
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// Writes every product of the shop, in creation order.
pub async fn export(
    store: &dyn Store,
    tenant: &Tenant,
    format: Format,
    out: &mut impl std::io::Write,
) -> anyhow::Result<u64> {
    let categories: HashMap<_, _> = store
        .list_categories(tenant.id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.handle.to_string()))
        .collect();
    let handles = |p: &Product| -> Vec<String> {
        p.categories
            .iter()
            .filter_map(|c| categories.get(c).cloned())
            .collect()
    };
    write_header(format, out)?;
    let mut after = None;
    let mut count = 0;
    loop {
        let products = store.products_after(tenant.id, after, 200).await?;
        let Some(last) = products.last() else { break };
        after = Some(last.id);
        for p in &products {
            count += 1;
            write_product(format, p, handles(p), out)?;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_row_error_splits_by_the_columns_it_names() {
        use super::columns_of;
        let pairs = |m: &str| columns_of(m);
        assert_eq!(
            pairs("price: 'abc' is not a whole number; sku: must be 1 to 64 characters long"),
            vec![
                ("price".to_owned(), "'abc' is not a whole number".to_owned()),
                (
                    "sku".to_owned(),
                    "must be 1 to 64 characters long".to_owned()
                ),
            ]
        );
        assert_eq!(
            pairs("sku belongs to another product"),
            vec![(
                "sku".to_owned(),
                "sku belongs to another product".to_owned()
            )]
        );
        assert_eq!(
            pairs("a quoted field opened on line 3 is never closed; close the quote"),
            vec![(
                String::new(),
                "a quoted field opened on line 3 is never closed; close the quote".to_owned()
            )]
        );
        assert_eq!(
            pairs("categories[0]: must be a handle; x"),
            vec![("categories[0]".to_owned(), "must be a handle; x".to_owned())]
        );
    }

    use super::*;

    #[test]
    fn csv_rows_report_their_line_and_every_problem() {
        let csv = "handle,title,sku,price,inventory\n\
                   good,Good thing,G-1,1999,3\n\
                   Bad Handle,,G-2,12.50,x\n";
        let rows = read_rows(csv.as_bytes(), Format::Csv, "USD").unwrap();
        assert_eq!(rows.len(), 2);
        let good = rows[0].as_ref().unwrap();
        assert_eq!((good.line, good.variants[0].variant.on_hand), (2, 3));
        assert!(good.variants[0].set_stock);
        let bad = rows[1].as_ref().unwrap_err();
        assert_eq!(bad.line, 3);
        let fields: Vec<&str> = bad
            .message
            .split("; ")
            .map(|p| p.split(':').next().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["handle", "title", "price", "inventory"],
            "{}",
            bad.message
        );
        assert!(
            bad.message
                .contains("'x' is not a whole number of units on hand")
        );
        assert!(
            bad.message
                .contains("'12.50' is not a whole number of minor units")
        );
    }
    #[test]
    fn an_unclosed_quote_is_reported_as_such() {
        let csv = "handle,title,sku,price\n\
                   a,A,A-1,100\n\
                   b,\"B is never closed,B-1,200\n\
                   c,C,C-1,300\n";
        let rows = read_rows(csv.as_bytes(), Format::Csv, "USD").unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_ok());
        let bad = rows[1].as_ref().unwrap_err();
        assert_eq!(bad.line, 3);
        assert!(
            bad.message.contains("opened on line 3 is never closed"),
            "{}",
            bad.message
        );
        // Closed quotes, doubled quotes and quoted line breaks are fine.
        let csv = "handle,title,description,sku,price\n\
                   a,\"A, \"\"quoted\"\"\",\"two\nlines\",A-1,100\n";
        let rows = read_rows(csv.as_bytes(), Format::Csv, "USD").unwrap();
        assert_eq!(rows[0].as_ref().unwrap().title, "A, \"quoted\"");
        let err = read_rows("\"handle,title\n".as_bytes(), Format::Csv, "USD").unwrap_err();
        assert!(err.to_string().contains("never closed"), "{err}");
    }

    #[test]
    fn unknown_columns_refuse_the_file() {
        let err = read_rows("handle,titel\n".as_bytes(), Format::Csv, "USD").unwrap_err();
        assert!(err.to_string().contains("titel"));
    }
}
