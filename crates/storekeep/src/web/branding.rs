//! A shop's look as a stylesheet of its own, `/assets/shop-<hash>.css`:
//! its colours and font as CSS variables the site stylesheet uses, then its
//! custom CSS (checked on save, see `storekeep_domain::custom_css_problem`).
//! Served as a file, never inlined, so the CSP needs no inline style; the
//! hash of the content is in the name, so it is cached for a year and a
//! change of settings is a new name.

use sha2::{Digest, Sha256};
use storekeep_domain::Tenant;

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
    format!("/assets/{}", css_name(&css(tenant)))
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
