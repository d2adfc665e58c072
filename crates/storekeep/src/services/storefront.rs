//! The storefront's catalog reads: active products, categories and search
//! (term splitting, ranking, paging and cursors).

use std::collections::HashSet;

use storekeep_domain::{
    Handle, PageRequest, Product, ProductId, ProductStatus, Tenant, search_terms,
};
use storekeep_store::StoreError;

use crate::services::catalog::{self, SEARCH_CANDIDATES};
use crate::services::{ServiceError, ServiceResult, Services};
use crate::wire::catalog::ListParams;
use crate::wire::storefront::{
    SearchParams, StoreCategoryList, StoreProductBody, StoreProductPage,
};

/// Active products, filtered and sorted, one page at a time.
pub async fn products(
    svc: &Services,
    tenant: &Tenant,
    params: &ListParams,
) -> ServiceResult<StoreProductPage> {
    let query = catalog::product_query(svc, tenant, params, true).await?;
    let page = svc.store.list_products(tenant.id, &query).await?;
    Ok(StoreProductPage {
        items: page
            .items
            .into_iter()
            .map(|p| catalog::with_urls(svc, p))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// One active product, by id or handle; anything else is not found.
pub async fn product(
    svc: &Services,
    tenant: &Tenant,
    id_or_handle: &str,
) -> ServiceResult<StoreProductBody> {
    let product = active_product(svc, tenant, id_or_handle).await?;
    Ok(StoreProductBody {
        product: catalog::with_urls(svc, product),
    })
}

/// The shop's published product by id or handle, as the store holds it;
/// a draft, an archived one or none at all is not found. What every
/// storefront read of one product starts from.
pub async fn active_product(
    svc: &Services,
    tenant: &Tenant,
    id_or_handle: &str,
) -> ServiceResult<Product> {
    let product = if let Ok(id) = id_or_handle.parse::<ProductId>() {
        svc.store.product(tenant.id, id).await?
    } else {
        let handle = Handle::parse(id_or_handle).map_err(|_| StoreError::NotFound("product"))?;
        svc.store.product_by_handle(tenant.id, &handle).await?
    };
    if product.status != ProductStatus::Active {
        return Err(StoreError::NotFound("product").into());
    }
    Ok(product)
}

/// The category tree, flat; `parent_id` links it.
pub async fn categories(svc: &Services, tenant: &Tenant) -> ServiceResult<StoreCategoryList> {
    Ok(StoreCategoryList {
        items: svc.store.list_categories(tenant.id).await?,
    })
}

/// A storefront search, parsed: at most ten distinct terms (the first
/// earns a bonus), the page size and where the page starts.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    terms: Vec<String>,
    page: PageRequest,
    /// The cursor of a ranked list is the last item's (score, id): the next
    /// page starts strictly after it in rank order, so products added or
    /// changed meanwhile never make a page repeat or skip what was there.
    after: Option<(u32, ProductId)>,
}

impl SearchQuery {
    pub fn parse(params: &SearchParams) -> ServiceResult<Self> {
        let bad = |m: &str| ServiceError::BadRequest(m.to_owned());
        let q = params.q.trim();
        if q.is_empty() || q.chars().count() > 200 {
            return Err(bad("q must be 1 to 200 characters"));
        }
        let mut terms = search_terms(q);
        // Each term once, first occurrence kept (the first term earns a bonus).
        let mut seen = HashSet::new();
        terms.retain(|t| seen.insert(t.clone()));
        if terms.is_empty() {
            return Err(bad("q must contain at least one letter or digit"));
        }
        terms.truncate(10);
        let page = PageRequest::new(params.limit, None).map_err(ServiceError::BadRequest)?;
        let after = match params.after.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => Some(
                a.strip_prefix("r.")
                    .and_then(|rest| rest.split_once('.'))
                    .and_then(|(score, id)| Some((score.parse().ok()?, id.parse().ok()?)))
                    .ok_or_else(|| bad("after is not a cursor this server issued"))?,
            ),
            None => None,
        };
        Ok(Self { terms, page, after })
    }
}

/// Full-text search over active products' titles, tags and descriptions:
/// every word must match (as a word or prefix); title matches rank above
/// tag matches above description matches, then newest first.
pub async fn search(
    svc: &Services,
    tenant: &Tenant,
    query: &SearchQuery,
) -> ServiceResult<StoreProductPage> {
    let docs = svc
        .store
        .search_candidates(tenant.id, &query.terms, SEARCH_CANDIDATES)
        .await?;
    let ranked = catalog::rank(&query.terms, docs);
    let start = match query.after {
        // Rank order is score descending, then id descending.
        Some((score, id)) => ranked
            .iter()
            .position(|r| r.0 < score || (r.0 == score && r.1 < id))
            .unwrap_or(ranked.len()),
        None => 0,
    };
    let end = start
        .saturating_add(query.page.limit as usize)
        .min(ranked.len());
    let page_items = &ranked[start..end];
    let ids: Vec<ProductId> = page_items.iter().map(|r| r.1).collect();
    let mut products = svc.store.products_by_ids(tenant.id, &ids).await?;
    // A product may have left the storefront since it was matched.
    products.retain(|p| p.status == ProductStatus::Active);
    products.sort_by_key(|p| ids.iter().position(|id| *id == p.id));
    Ok(StoreProductPage {
        items: products
            .into_iter()
            .map(|p| catalog::with_urls(svc, p))
            .collect(),
        next_cursor: (end < ranked.len())
            .then(|| {
                page_items
                    .last()
                    .map(|(score, id)| format!("r.{score}.{id}"))
            })
            .flatten(),
    })
}

#[cfg(test)]
mod tests {
    //! Failures are not persisted to files: a shrunk failing case is kept
    //! as an ordinary test instead.
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;

    fn params(q: String, limit: Option<u32>, after: Option<String>) -> SearchParams {
        SearchParams { q, limit, after }
    }

    proptest! {
        #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

        #[test]
        fn a_search_is_parsed_within_its_limits_or_refused(
            q in prop_oneof![any::<String>(), "[ a-zA-Z0-9,.-]{0,210}"],
            limit in proptest::option::of(prop_oneof![any::<u32>(), 0u32..=201]),
            after in proptest::option::of(prop_oneof![
                any::<String>(),
                "r\\.[0-9+-]{0,11}\\.[0-9a-f-]{0,36}",
            ]),
        ) {
            let Ok(s) = SearchQuery::parse(&params(q.clone(), limit, after)) else {
                return Ok(());
            };
            prop_assert!((1..=200).contains(&q.trim().chars().count()));
            prop_assert!((1..=10).contains(&s.terms.len()));
            let mut seen = HashSet::new();
            for t in &s.terms {
                prop_assert!(seen.insert(t), "{t} twice");
                prop_assert!(!t.is_empty() && t.chars().all(char::is_alphanumeric));
            }
            prop_assert!((1..=200).contains(&s.page.limit));
        }

        #[test]
        fn a_search_cursor_the_server_issues_is_read_back(
            score in any::<u32>(),
            id in any::<u128>(),
        ) {
            let id = ProductId(uuid::Uuid::from_u128(id));
            // As `search` writes it.
            let cursor = format!("r.{score}.{id}");
            let s = SearchQuery::parse(&params("dock".into(), None, Some(cursor)));
            prop_assert_eq!(s.map(|s| s.after).ok(), Some(Some((score, id))));
        }
    }
}
