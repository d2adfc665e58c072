//! Catalog operations shared by the admin API, the storefront and the CLI:
//! input parsing (every problem reported at once), writes that invalidate
//! the shop's read cache once committed, and search ranking.

use std::collections::{BTreeMap, HashSet};

use storekeep_domain::{
    AuditContext, Category, CategoryId, CategoryPatch, Handle, MAX_DESCRIPTION, MAX_QUANTITY,
    MAX_TAGS, MAX_TITLE, MAX_VARIANTS, Money, NewCategory, NewProduct, NewVariant, PageRequest,
    Product, ProductCursor, ProductId, ProductPatch, ProductQuery, ProductSort, ProductStatus,
    SearchDoc, Sku, Tenant, ValidationErrors, VariantPatch, parse_tag, search_terms,
};

use super::ServiceResult;
use crate::services::Services;
use crate::wire::catalog::{
    CategoryInput, CategoryPatchInput, ListParams, ProductInput, ProductPatchInput, VariantInput,
    VariantPatchInput,
};

/// How many matches search ranks (the newest, when there are more).
pub const SEARCH_CANDIDATES: i64 = 1_000;

// --- parsing

/// A trimmed single-line text of 1..=max characters.
pub fn parse_title(raw: &str, max: usize) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(format!("must be 1 to {max} characters long"));
    }
    if t.chars().any(char::is_control) {
        return Err("may not contain control characters".into());
    }
    Ok(t.to_owned())
}

pub fn parse_description(raw: &str) -> Result<String, String> {
    if raw.chars().count() > MAX_DESCRIPTION {
        return Err(format!("must be at most {MAX_DESCRIPTION} characters long"));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("may not contain control characters".into());
    }
    Ok(raw.trim().to_owned())
}

pub fn parse_tags(errors: &mut ValidationErrors, field: &str, raw: &[String]) -> Vec<String> {
    if raw.len() > MAX_TAGS {
        errors.add(field, format!("at most {MAX_TAGS} tags"));
    }
    let mut tags: Vec<String> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        if let Some(t) = errors.check(&format!("{field}[{i}]"), parse_tag(t))
            && !tags.contains(&t)
        {
            tags.push(t);
        }
    }
    tags
}

fn parse_options(
    errors: &mut ValidationErrors,
    field: &str,
    raw: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    if raw.len() > 10 {
        errors.add(field, "at most 10 options");
    }
    let mut out = BTreeMap::new();
    // `=` and `|` delimit options in the CSV format.
    let plain = |max: usize, forbidden: &'static [char]| {
        move |t: &String| -> Result<String, String> {
            let t = parse_title(t, max)?;
            if t.contains(forbidden) {
                let list: Vec<String> = forbidden.iter().map(|c| format!("'{c}'")).collect();
                return Err(format!("may not contain {}", list.join(" or ")));
            }
            Ok(t)
        }
    };
    for (k, v) in raw {
        let key = errors.check(&format!("{field}.{k}"), plain(50, &['=', '|'])(k));
        let value = errors.check(&format!("{field}.{k}"), plain(100, &['|'])(v));
        if let (Some(k), Some(v)) = (key, value) {
            out.insert(k, v);
        }
    }
    out
}

fn check_money(errors: &mut ValidationErrors, field: &str, m: &Money, currency: &str) {
    errors.check(field, m.validate(currency));
}

/// Parses one variant; `field` prefixes error paths.
pub fn parse_variant(
    errors: &mut ValidationErrors,
    field: &str,
    v: &VariantInput,
    currency: &str,
) -> Option<NewVariant> {
    let sku = errors.check(&format!("{field}.sku"), Sku::parse(&v.sku));
    let options = parse_options(errors, &format!("{field}.options"), &v.options);
    let title = match &v.title {
        Some(t) => errors.check(&format!("{field}.title"), parse_title(t, MAX_TITLE)),
        None if options.is_empty() => Some("Default".to_owned()),
        None => {
            // The option values make the title, within the title's limit.
            let made = options.values().cloned().collect::<Vec<_>>().join(" / ");
            if made.chars().count() > MAX_TITLE {
                errors.add(
                    &format!("{field}.title"),
                    format!(
                        "is required: the option values together are longer than {MAX_TITLE} characters"
                    ),
                );
                None
            } else {
                Some(made)
            }
        }
    };
    check_money(errors, &format!("{field}.price"), &v.price, currency);
    if let Some(c) = &v.compare_at_price {
        check_money(errors, &format!("{field}.compare_at_price"), c, currency);
    }
    if !(0..=MAX_QUANTITY).contains(&v.inventory.unwrap_or(0)) {
        errors.add(
            &format!("{field}.inventory"),
            format!("must be between 0 and {MAX_QUANTITY}"),
        );
    }
    Some(NewVariant {
        sku: sku?,
        title: title?,
        options,
        price: v.price.clone(),
        compare_at_price: v.compare_at_price.clone(),
        on_hand: v.inventory.unwrap_or(0),
    })
}

fn parse_status(errors: &mut ValidationErrors, raw: Option<&str>) -> Option<ProductStatus> {
    match raw {
        None => Some(ProductStatus::Draft),
        Some(s) => errors.check("status", ProductStatus::parse(s)),
    }
}

fn handle_or_title(
    errors: &mut ValidationErrors,
    handle: Option<&str>,
    title: &str,
) -> Option<Handle> {
    match handle {
        Some(h) => errors.check("handle", Handle::parse(h)),
        None => {
            let h = Handle::from_title(title);
            if h.is_none() {
                errors.add(
                    "handle",
                    "the title has no letters or digits to make one from; give a handle",
                );
            }
            h
        }
    }
}

pub fn parse_product(input: &ProductInput, currency: &str) -> Result<NewProduct, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let title = errors.check("title", parse_title(&input.title, MAX_TITLE));
    let handle = handle_or_title(&mut errors, input.handle.as_deref(), &input.title);
    let description = errors.check("description", parse_description(&input.description));
    let status = parse_status(&mut errors, input.status.as_deref());
    let tags = parse_tags(&mut errors, "tags", &input.tags);
    if input.variants.is_empty() {
        errors.add("variants", "a product needs at least one variant");
    }
    if input.variants.len() > MAX_VARIANTS {
        errors.add("variants", format!("at most {MAX_VARIANTS} variants"));
    }
    let mut variants = Vec::new();
    let mut skus = HashSet::new();
    for (i, v) in input.variants.iter().enumerate() {
        let field = format!("variants[{i}]");
        if let Some(v) = parse_variant(&mut errors, &field, v, currency) {
            if !skus.insert(v.sku.clone()) {
                errors.add(&format!("{field}.sku"), "appears twice in this product");
            }
            variants.push(v);
        }
    }
    let mut categories = input.categories.clone();
    categories.dedup();
    errors.into_result()?;
    Ok(NewProduct {
        handle: handle.expect("checked"),
        title: title.expect("checked"),
        description: description.expect("checked"),
        status: status.expect("checked"),
        tags,
        categories,
        variants,
    })
}

pub fn parse_product_patch(input: &ProductPatchInput) -> Result<ProductPatch, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let patch = ProductPatch {
        handle: input
            .handle
            .as_deref()
            .and_then(|h| errors.check("handle", Handle::parse(h))),
        title: input
            .title
            .as_deref()
            .and_then(|t| errors.check("title", parse_title(t, MAX_TITLE))),
        description: input
            .description
            .as_deref()
            .and_then(|d| errors.check("description", parse_description(d))),
        status: input
            .status
            .as_deref()
            .and_then(|s| errors.check("status", ProductStatus::parse(s))),
        tags: input
            .tags
            .as_ref()
            .map(|t| parse_tags(&mut errors, "tags", t)),
        categories: input.categories.clone(),
    };
    errors.into_result()?;
    Ok(patch)
}

pub fn parse_variant_patch(
    input: &VariantPatchInput,
    currency: &str,
) -> Result<VariantPatch, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let patch = VariantPatch {
        sku: input
            .sku
            .as_deref()
            .and_then(|s| errors.check("sku", Sku::parse(s))),
        title: input
            .title
            .as_deref()
            .and_then(|t| errors.check("title", parse_title(t, MAX_TITLE))),
        options: input
            .options
            .as_ref()
            .map(|o| parse_options(&mut errors, "options", o)),
        price: input.price.clone(),
        compare_at_price: input.compare_at_price.clone(),
    };
    if let Some(p) = &patch.price {
        check_money(&mut errors, "price", p, currency);
    }
    if let Some(Some(p)) = &patch.compare_at_price {
        check_money(&mut errors, "compare_at_price", p, currency);
    }
    errors.into_result()?;
    Ok(patch)
}

pub fn parse_category(input: &CategoryInput) -> Result<NewCategory, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let name = errors.check("name", parse_title(&input.name, 100));
    let handle = handle_or_title(&mut errors, input.handle.as_deref(), &input.name);
    errors.into_result()?;
    Ok(NewCategory {
        parent_id: input.parent_id,
        handle: handle.expect("checked"),
        name: name.expect("checked"),
        position: input.position,
    })
}

pub fn parse_category_patch(input: &CategoryPatchInput) -> Result<CategoryPatch, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let patch = CategoryPatch {
        parent_id: input.parent_id,
        handle: input
            .handle
            .as_deref()
            .and_then(|h| errors.check("handle", Handle::parse(h))),
        name: input
            .name
            .as_deref()
            .and_then(|n| errors.check("name", parse_title(n, 100))),
        position: input.position,
    };
    errors.into_result()?;
    Ok(patch)
}

pub fn parse_reason(raw: &str) -> Result<String, ValidationErrors> {
    parse_title(raw, 200).map_err(|m| ValidationErrors::single("reason", m))
}

// --- writes

/// Creates a product within the shop's plan.
pub async fn create_product(
    state: &Services,
    tenant: &Tenant,
    input: &ProductInput,
    audit: &AuditContext,
) -> ServiceResult<Product> {
    let new = parse_product(input, &tenant.settings.currency)?;
    let product = state
        .store
        .create_product(tenant.id, &new, tenant.limits.max_products, audit)
        .await?;
    Ok(with_urls(state, product))
}

/// Deletes a product, then its image objects (a failure to delete an
/// object is logged; the product is gone either way).
pub async fn delete_product(
    state: &Services,
    tenant: &Tenant,
    id: ProductId,
    audit: &AuditContext,
) -> ServiceResult<()> {
    let product = state.store.delete_product(tenant.id, id, audit).await?;
    for image in &product.images {
        super::images::remove_objects(&state.media, image).await;
    }
    Ok(())
}

/// Fills in image URLs, which depend on configuration, not on the data.
pub fn with_urls(state: &Services, mut product: Product) -> Product {
    for image in &mut product.images {
        super::images::with_urls(&state.media, image);
    }
    product
}

/// Fills an empty demo shop with the demo catalog (categories, then about
/// 1,000 products through the bulk import). A shop that has products is
/// left alone. Returns how many products were created.
pub async fn ensure_demo_catalog(
    store: &dyn storekeep_store::Store,
    tenant: &Tenant,
    audit: &AuditContext,
) -> anyhow::Result<u64> {
    if store.count_products(tenant.id).await? > 0 {
        return Ok(0);
    }
    let mut ids: std::collections::HashMap<Handle, CategoryId> = store
        .list_categories(tenant.id)
        .await?
        .into_iter()
        .map(|c| (c.handle, c.id))
        .collect();
    for (position, c) in super::demo_catalog::categories().into_iter().enumerate() {
        if ids.contains_key(&c.handle) {
            continue;
        }
        let parent_id = c.parent.as_ref().and_then(|p| ids.get(p).copied());
        let created = store
            .create_category(
                tenant.id,
                &NewCategory {
                    parent_id,
                    handle: c.handle.clone(),
                    name: c.name,
                    position: position as i64,
                },
                audit,
            )
            .await?;
        ids.insert(c.handle, created.id);
    }
    let rows = super::demo_catalog::products(&tenant.settings.currency)
        .into_iter()
        .map(Ok)
        .collect();
    let report = super::bulk::import(store, tenant, rows, audit, |_, _| {}).await?;
    if let Some(e) = report.errors.first() {
        anyhow::bail!(
            "the demo catalog did not import: line {}: {}",
            e.line,
            e.message
        );
    }
    Ok(report.created)
}

// --- reads

/// What went wrong with list parameters: a client error either way.
#[derive(Debug)]
pub enum ListError {
    Invalid(ValidationErrors),
    BadCursor,
    Store(storekeep_store::StoreError),
}

/// Both kinds of bad list parameters are a bad request (400), not field
/// problems: they arrive in the query string.
impl From<ListError> for crate::services::ServiceError {
    fn from(e: ListError) -> Self {
        match e {
            ListError::Invalid(v) => Self::BadRequest(v.to_string()),
            ListError::BadCursor => {
                Self::BadRequest("after is not a cursor this server issued for this sort".into())
            }
            ListError::Store(s) => Self::Store(s),
        }
    }
}

/// Turns list parameters into a store query. `storefront` lists only
/// active products and ignores `status`.
pub async fn product_query(
    state: &Services,
    tenant: &Tenant,
    p: &ListParams,
    storefront: bool,
) -> Result<ProductQuery, ListError> {
    let mut errors = ValidationErrors::new();
    let sort = match &p.sort {
        Some(s) => errors
            .check("sort", ProductSort::parse(s))
            .unwrap_or_default(),
        None => ProductSort::Newest,
    };
    let status = if storefront {
        Some(ProductStatus::Active)
    } else {
        p.status
            .as_deref()
            .and_then(|s| errors.check("status", ProductStatus::parse(s)))
    };
    let page = errors.check("limit", PageRequest::new(p.limit, None));
    let tag = p
        .tag
        .as_deref()
        .and_then(|t| errors.check("tag", parse_tag(t)));
    for (field, v) in [("min_price", p.min_price), ("max_price", p.max_price)] {
        if v.is_some_and(|v| v < 0) {
            errors.add(field, "must not be negative");
        }
    }
    errors.into_result().map_err(ListError::Invalid)?;
    let after = match p.after.as_deref().filter(|a| !a.is_empty()) {
        Some(raw) => Some(ProductCursor::decode(sort, raw).ok_or(ListError::BadCursor)?),
        None => None,
    };
    let categories = match &p.category {
        None => None,
        Some(c) => {
            let all = state
                .store
                .list_categories(tenant.id)
                .await
                .map_err(ListError::Store)?;
            let root = all
                .iter()
                .find(|cat| cat.id.to_string() == *c || cat.handle.as_str() == c);
            // An unknown category filters everything out, like a tag no
            // product has.
            Some(root.map_or_else(Vec::new, |r| descendants(&all, r.id)))
        }
    };
    Ok(ProductQuery {
        status,
        categories,
        tag,
        min_price: p.min_price,
        max_price: p.max_price,
        in_stock: p.in_stock.unwrap_or(false),
        sort,
        limit: page.map_or(50, |p| p.limit),
        after,
    })
}

/// A category and every category under it.
pub fn descendants(categories: &[Category], root: CategoryId) -> Vec<CategoryId> {
    let mut children: std::collections::HashMap<CategoryId, Vec<CategoryId>> =
        std::collections::HashMap::new();
    for c in categories {
        if let Some(parent) = c.parent_id {
            children.entry(parent).or_default().push(c.id);
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = children.get(&out[i]) {
            out.extend_from_slice(kids);
        }
        i += 1;
    }
    out
}

/// Ranks search candidates: for each query term, a title word scores 8
/// (4 as a prefix), a tag word 4 (2), a description word 2 (1); a title
/// that starts with the first term gets 1 more. Highest score first, then
/// newest. Computed here, not by the database, so both databases rank alike.
/// Returns `(score, id)` pairs in rank order.
pub fn rank(terms: &[String], docs: Vec<SearchDoc>) -> Vec<(u32, ProductId)> {
    fn field_score(words: &[String], term: &str, exact: u32, prefix: u32) -> u32 {
        if words.iter().any(|w| w == term) {
            exact
        } else if words.iter().any(|w| w.starts_with(term)) {
            prefix
        } else {
            0
        }
    }
    let mut scored: Vec<(u32, ProductId)> = docs
        .into_iter()
        .map(|d| {
            let title = search_terms(&d.title);
            let tags: Vec<String> = d.tags.iter().flat_map(|t| search_terms(t)).collect();
            let description = search_terms(&d.description);
            let mut score: u32 = terms
                .iter()
                .map(|t| {
                    field_score(&title, t, 8, 4)
                        + field_score(&tags, t, 4, 2)
                        + field_score(&description, t, 2, 1)
                })
                .sum();
            if let (Some(first), Some(term)) = (title.first(), terms.first())
                && first.starts_with(term.as_str())
            {
                score += 1;
            }
            (score, d.id)
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, tags: &[&str], description: &str) -> SearchDoc {
        SearchDoc {
            id: ProductId::new(),
            title: title.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            description: description.into(),
        }
    }

    #[test]
    fn title_beats_tags_beats_description_and_words_beat_prefixes() {
        let in_description = doc("Docking station", &[], "works with any thinkpad");
        let in_tags = doc("Laptop bag", &["thinkpad"], "");
        let prefix_in_title = doc("ThinkPads bundle", &[], "");
        let in_title = doc("Lenovo ThinkPad T480", &[], "");
        let ids = [
            in_title.id,
            prefix_in_title.id,
            in_tags.id,
            in_description.id,
        ];
        let ranked = rank(
            &["thinkpad".into()],
            vec![in_description, in_tags, prefix_in_title, in_title],
        );
        assert_eq!(ranked.iter().map(|r| r.1).collect::<Vec<_>>(), ids);
    }

    #[test]
    fn descendants_cover_the_subtree_only() {
        let at = chrono::Utc::now();
        let cat = |parent: Option<CategoryId>| Category {
            id: CategoryId::new(),
            parent_id: parent,
            handle: Handle::parse("x").unwrap(),
            name: "x".into(),
            position: 0,
            created_at: at,
            updated_at: at,
        };
        let root = cat(None);
        let child = cat(Some(root.id));
        let grandchild = cat(Some(child.id));
        let other = cat(None);
        let all = vec![root.clone(), child.clone(), grandchild.clone(), other];
        assert_eq!(
            descendants(&all, root.id),
            vec![root.id, child.id, grandchild.id]
        );
        assert_eq!(descendants(&all, child.id), vec![child.id, grandchild.id]);
    }
}
