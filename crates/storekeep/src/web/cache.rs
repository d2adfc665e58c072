//! Catalog pages from the same response cache as the API's catalog reads
//! (`crate::cache`): a page's [`Fragment`] is stored per shop, catalog
//! generation, language and path with query, so a catalog write (which
//! bumps the shop's generation) is seen by the next page view. The layout
//! around it (cart count, account, CSRF token) is rendered per request.

use crate::app::AppState;
use crate::cache::{Body, Claim};
use crate::web::shop::Shop;
use crate::web::{Fragment, WebError};

/// The cached fragment for `path_and_query`, or the one `build` makes
/// (then stored). The ticket is taken before the build reads anything, so
/// a write landing meanwhile makes the result unreachable, never stale.
pub async fn fragment(
    state: &AppState,
    shop: &Shop,
    path_and_query: &str,
    build: impl Future<Output = Result<Fragment, WebError>>,
) -> Result<Fragment, WebError> {
    let key = format!("web:{}:{}", shop.lang.code(), path_and_query);
    let cache = &state.services.cache;
    let tenant = shop.tenant.id;
    let ticket = cache.ticket(tenant).await;
    let read = |body: Body| Fragment::from_bytes(&body.identity);
    if let Some(mut f) = cache.get(tenant, ticket, &key).and_then(read) {
        state.services.metrics.cache_lookup(true);
        f.hit = true;
        return Ok(f);
    }
    state.services.metrics.cache_lookup(false);
    let limit = state.services.settings.request_timeout / 2;
    let _building = match cache.claim(tenant, ticket, &key, limit).await {
        Claim::Build(claim) => claim,
        Claim::Waited => {
            if let Some(mut f) = cache.get(tenant, ticket, &key).and_then(read) {
                f.hit = true;
                return Ok(f);
            }
            None
        }
    };
    let fragment = build.await?;
    // A fragment is never sent as it is, so it is kept without a gzip form.
    cache.put(
        tenant,
        ticket,
        &key,
        Body::uncompressed(fragment.to_bytes()),
    );
    Ok(fragment)
}
