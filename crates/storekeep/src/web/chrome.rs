//! The page context every storefront layout gets: who the shop is, how it
//! looks, the language, and the per-visitor slots (CSRF token, signed-in
//! customer, cart count) that the session layer fills in.

use crate::app::AppState;
use crate::web::i18n::{Lang, layout};
use crate::web::{assets, branding, shop::Shop};

/// What the layout (`templates/storefront/layout.html`) shows around every
/// page. Built per request by [`Chrome::new`]; cheap (a few short strings).
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The shop's name as shown (the `storefront.name` setting, else the
    /// shop's name).
    pub shop_name: String,
    /// The logo's URL (one of the shop's own images), if it set one.
    pub logo_url: Option<String>,
    /// The logo's width at the header's 40 px height, when its size is known.
    pub logo_width: Option<u32>,
    /// `/assets/site-<hash>.css`: the storefront's own stylesheet.
    pub site_css: &'static str,
    /// `/assets/shop-<hash>.css`: this shop's colours, font and custom CSS.
    pub shop_css: String,
    /// The page's language (`<html lang>`).
    pub lang: Lang,
    /// The layout's strings in that language.
    pub t: &'static layout::LayoutMsgs,
    /// The page's absolute canonical URL (`<link rel=canonical>`, `og:url`).
    pub canonical: String,
    /// The CSRF token for this visitor's forms, `None` until the session
    /// layer provides one. Forms put it in a hidden `csrf` field; cached
    /// page parts carry [`CSRF_SLOT`] instead, replaced per response.
    pub csrf: Option<String>,
    /// The signed-in customer's display name; `None` for a guest (the
    /// header then offers "Sign in").
    pub account: Option<String>,
    /// Items in the visitor's cart (the header's cart link shows it when
    /// non-zero).
    pub cart_count: u32,
    /// Which legal pages the shop published (footer links).
    pub has_terms: bool,
    pub has_privacy: bool,
    pub has_returns: bool,
}

/// The logo's height in the header, in CSS pixels (the layout's `height`).
pub const LOGO_HEIGHT: u64 = 40;

/// What a cached page part holds where a form's CSRF token goes; the
/// response replaces it with [`Chrome::csrf`] (or nothing).
/// Contains `<`, which escaped text (a product's title, a legal page)
/// can never hold, so only the forms' own slots are replaced.
pub const CSRF_SLOT: &str = "<!--sk-csrf-slot-->";

impl Chrome {
    /// The context for a page of `shop` at `path` (the canonical path,
    /// query included where it names the page).
    pub fn new(state: &AppState, shop: &Shop, path: &str) -> Self {
        let s = &shop.tenant.settings.storefront;
        let present = |t: &Option<String>| t.as_deref().is_some_and(|t| !t.trim().is_empty());
        let mut chrome = Self {
            shop_name: shop.name().to_owned(),
            logo_url: s.logo.as_deref().map(|k| state.services.media.url(k)),
            logo_width: s
                .logo_size
                .filter(|[w, h]| *w > 0 && *h > 0)
                .map(|[w, h]| (u64::from(w) * LOGO_HEIGHT / u64::from(h)).clamp(1, 4000) as u32),
            site_css: assets::site_css_url(),
            shop_css: branding::css_url(&shop.tenant),
            lang: shop.lang,
            t: layout::get(shop.lang),
            canonical: shop.url(path),
            csrf: None,
            account: None,
            cart_count: 0,
            has_terms: present(&s.terms),
            has_privacy: present(&s.privacy),
            has_returns: present(&s.returns),
        };
        // The visitor's slots (CSRF token, account, cart count).
        crate::web::session::fill(&mut chrome);
        chrome
    }

    /// The token to put in forms (empty until sessions provide one).
    pub fn csrf_token(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }
}
