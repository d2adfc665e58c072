//! A shop's look as a stylesheet of its own, `/assets/shop-<hash>.css`:
//! its colours and font as CSS variables the site stylesheet uses, then its
//! custom CSS (checked on save, see `storekeep_domain::custom_css_problem`).
//! Served as a file, never inlined, so the CSP needs no inline style; the
//! hash of the content is in the name, so it is cached for a year and a
//! change of settings is a new name.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use sha2::{Digest, Sha256};
use storekeep_domain::{Tenant, TenantId};

pub const DEFAULT_PRIMARY: &str = "#1f2933";
pub const DEFAULT_ACCENT: &str = "#1d4ed8";

/// The shop's stylesheet.
pub fn css(tenant: &Tenant) -> String {
    let s = &tenant.settings.storefront;
    let primary = s.primary_color.as_deref().unwrap_or(DEFAULT_PRIMARY);
    let accent = s.accent_color.as_deref().unwrap_or(DEFAULT_ACCENT);
    let mut out = format!(
        ":root{{--primary:{primary};--on-primary:{};--accent:{accent};--on-accent:{};--font:{}}}\n",
        text_on(primary),
        text_on(accent),
        s.font_stack()
    );
    if let Some(custom) = &s.custom_css {
        out.push_str("/* the shop's own CSS */\n");
        out.push_str(custom);
        out.push('\n');
    }
    out
}

/// `shop-<hash>.css`, the file name of `css`.
pub fn css_name(css: &str) -> String {
    format!("shop-{}.css", short_hash(css.as_bytes()))
}

/// Where the shop's stylesheet is served.
pub fn css_url(tenant: &Tenant) -> String {
    // Every page names it, and making it builds the stylesheet and hashes
    // it: each shop's is kept with the settings it was made from, and made
    // again when they differ (compared as they are, so no change is missed
    // whatever path wrote the settings).
    type Made = (Inputs, String);
    static MADE: LazyLock<Mutex<HashMap<TenantId, Made>>> = LazyLock::new(Default::default);
    let mut made = MADE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((was, url)) = made.get(&tenant.id)
        && was.made(tenant)
    {
        return url.clone();
    }
    let url = format!("/assets/{}", css_name(&css(tenant)));
    if made.len() >= MADE_MAX {
        made.clear();
    }
    made.insert(tenant.id, (Inputs::of(tenant), url.clone()));
    url
}

/// Shops whose stylesheet names are kept (beyond it the memo starts over).
const MADE_MAX: usize = 10_000;

/// What [`css`] is made from.
struct Inputs {
    primary: Option<String>,
    accent: Option<String>,
    font: Option<String>,
    custom: Option<String>,
}

impl Inputs {
    fn of(tenant: &Tenant) -> Self {
        let s = &tenant.settings.storefront;
        Self {
            primary: s.primary_color.clone(),
            accent: s.accent_color.clone(),
            font: s.font.clone(),
            custom: s.custom_css.clone(),
        }
    }

    /// Whether `tenant`'s stylesheet is made from these.
    fn made(&self, tenant: &Tenant) -> bool {
        let s = &tenant.settings.storefront;
        self.primary == s.primary_color
            && self.accent == s.accent_color
            && self.font == s.font
            && self.custom == s.custom_css
    }
}

/// 16 hex digits of the SHA-256 of `bytes`.
pub fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Black or white, whichever reads better on `background` (`#rrggbb`),
/// by WCAG relative luminance.
pub fn text_on(background: &str) -> &'static str {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&background[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    if background.len() != 7 {
        return "#ffffff";
    }
    let l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with white is 1.05/(l+0.05), with black (l+0.05)/0.05.
    if 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 {
        "#ffffff"
    } else {
        "#000000"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_reads_on_dark_and_light_backgrounds() {
        assert_eq!(text_on("#1f2933"), "#ffffff");
        assert_eq!(text_on("#ffe066"), "#000000");
        assert_eq!(text_on("#1d4ed8"), "#ffffff");
    }
}
