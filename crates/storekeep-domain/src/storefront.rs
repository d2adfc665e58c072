//! A shop's storefront settings: how its web shop looks and speaks (the
//! `storefront` section of [`crate::TenantSettings`]). Every value is
//! checked on save; the custom CSS by [`custom_css_problem`], so what is
//! served as the shop's stylesheet can load nothing and break out of
//! nothing.

use serde::{Deserialize, Serialize};

/// Longest custom CSS a shop may save, in bytes.
pub const MAX_CUSTOM_CSS: usize = 16 * 1024;

/// Longest legal page text, in characters.
pub const MAX_LEGAL_TEXT: usize = 64 * 1024;

/// The languages the storefront speaks.
pub const STOREFRONT_LANGUAGES: &[&str] = &["en", "de"];

/// The font stacks a shop may choose: system fonts only, so no page ever
/// downloads a font (and the CSP needs no font origin).
pub const FONT_STACKS: &[(&str, &str)] = &[
    (
        "system",
        "system-ui, -apple-system, \"Segoe UI\", Roboto, \"Helvetica Neue\", Arial, sans-serif",
    ),
    (
        "humanist",
        "Seravek, \"Gill Sans Nova\", Ubuntu, Calibri, \"DejaVu Sans\", source-sans-pro, sans-serif",
    ),
    (
        "geometric",
        "Avenir, Montserrat, Corbel, \"URW Gothic\", source-sans-pro, sans-serif",
    ),
    (
        "serif",
        "Charter, \"Bitstream Charter\", \"Sitka Text\", Cambria, Georgia, serif",
    ),
    (
        "mono",
        "ui-monospace, \"Cascadia Code\", \"Source Code Pro\", Menlo, Consolas, \"DejaVu Sans Mono\", monospace",
    ),
];

/// The storefront section of a shop's settings. Every field is optional
/// or has a default, so a shop that never set any is served plainly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StorefrontSettings {
    /// The name shown in the shop's header and titles; the shop's name
    /// when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Acme Refurb")]
    pub name: Option<String>,
    /// The logo: the key of one of the shop's own uploaded images (as the
    /// image API's `url` ends: `{tenant}/{image}.{ext}`), served from the
    /// shop's media, so the page's CSP needs no foreign image origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// The logo's size in pixels, `[width, height]`, read by the server
    /// from the image each time the settings are saved (what a client sends
    /// is replaced): pages give the logo its box before it loads.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!([320, 80]))]
    pub logo_size: Option<[u32; 2]>,
    /// Header and button colour, `#rrggbb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "#1f2933")]
    pub primary_color: Option<String>,
    /// Links and highlights, `#rrggbb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "#2563eb")]
    pub accent_color: Option<String>,
    /// One of the system font stacks: `system` (default), `humanist`,
    /// `geometric`, `serif`, `mono`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "system")]
    pub font: Option<String>,
    /// Extra CSS appended to the shop's stylesheet: at most 16 KiB; no
    /// `@import`, `url(`, `expression`, `</` or backslash escapes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_css: Option<String>,
    /// The storefront's language, `en` (default) or `de`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "en")]
    pub language: Option<String>,
    /// Whether a browser's `Accept-Language` may choose another language
    /// the storefront speaks (default true); false serves `language` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_browser_language: Option<bool>,
    /// Terms of service, plain text (blank lines separate paragraphs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
    /// Privacy policy, plain text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<String>,
    /// Returns policy, plain text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
    /// Keys this version does not know, as the top-level settings' own
    /// (`TenantSettings::unknown`): refused when staff send one (a
    /// misspelt setting is not ignored in silence), but a stored one — a
    /// setting written by a newer node during a rolling deploy — is read
    /// without error and kept when staff change the settings.
    #[serde(flatten, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(ignore)]
    pub unknown: std::collections::BTreeMap<String, serde_json::Value>,
}

impl StorefrontSettings {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The CSS font stack of the chosen font.
    pub fn font_stack(&self) -> &'static str {
        let name = self.font.as_deref().unwrap_or("system");
        FONT_STACKS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(FONT_STACKS[0].1, |(_, stack)| stack)
    }

    /// Checks every field, as `(field, message)` with the field named
    /// under `storefront.`.
    pub fn problems(&self, out: &mut Vec<(&str, String)>) {
        if let Some(name) = &self.name
            && (name.trim().is_empty()
                || name.chars().count() > 100
                || name.contains(char::is_control))
        {
            out.push((
                "storefront.name",
                "must be 1 to 100 characters, without control characters".into(),
            ));
        }
        if let Some(logo) = &self.logo
            && !is_media_key(logo)
        {
            out.push((
                "storefront.logo",
                "must be the key of one of the shop's images, such as {tenant-id}/{image-id}.png"
                    .into(),
            ));
        }
        for (field, color) in [
            ("storefront.primary_color", &self.primary_color),
            ("storefront.accent_color", &self.accent_color),
        ] {
            if let Some(c) = color
                && !is_hex_color(c)
            {
                out.push((field, "must be a colour as #rrggbb, such as #1f2933".into()));
            }
        }
        // Links are drawn in the accent colour on white: WCAG AA asks 4.5:1.
        if let Some(c) = &self.accent_color
            && is_hex_color(c)
            && contrast_on_white(c) < 4.5
        {
            out.push((
                "storefront.accent_color",
                format!(
                    "contrasts {:.1}:1 with the white page; links need at least 4.5:1 (try a darker colour such as #2563eb)",
                    contrast_on_white(c)
                ),
            ));
        }
        if let Some(font) = &self.font
            && !FONT_STACKS.iter().any(|(n, _)| n == font)
        {
            let names: Vec<&str> = FONT_STACKS.iter().map(|(n, _)| *n).collect();
            out.push((
                "storefront.font",
                format!("must be one of {}", names.join(", ")),
            ));
        }
        if let Some(css) = &self.custom_css
            && let Some(problem) = custom_css_problem(css)
        {
            out.push(("storefront.custom_css", problem));
        }
        if let Some(lang) = &self.language
            && !STOREFRONT_LANGUAGES.contains(&lang.as_str())
        {
            out.push(("storefront.language", "must be 'en' or 'de'".into()));
        }
        for (field, text) in [
            ("storefront.terms", &self.terms),
            ("storefront.privacy", &self.privacy),
            ("storefront.returns", &self.returns),
        ] {
            if let Some(t) = text
                && (t.chars().count() > MAX_LEGAL_TEXT
                    || t.chars()
                        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t'))
            {
                out.push((
                    field,
                    format!("must be at most {MAX_LEGAL_TEXT} characters of text"),
                ));
            }
        }
    }
}

/// Whether `raw` is a colour as `#rrggbb`.
/// The WCAG contrast ratio of the `#rrggbb` colour `hex` with white.
pub fn contrast_on_white(hex: &str) -> f64 {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    1.05 / (l + 0.05)
}

pub fn is_hex_color(raw: &str) -> bool {
    raw.len() == 7 && raw.starts_with('#') && raw[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `raw` has the form of an image key the media store makes:
/// `{uuid}/{uuid}.{png|jpg|webp|gif}` (whose shop it is, the service checks).
pub fn is_media_key(raw: &str) -> bool {
    let Some((tenant, rest)) = raw.split_once('/') else {
        return false;
    };
    let Some((image, ext)) = rest.rsplit_once('.') else {
        return false;
    };
    uuid::Uuid::try_parse(tenant).is_ok_and(|u| u.hyphenated().to_string() == tenant)
        && uuid::Uuid::try_parse(image).is_ok_and(|u| u.hyphenated().to_string() == image)
        && ["png", "jpg", "webp", "gif"].contains(&ext)
}

/// Why `css` may not be served as a shop's custom CSS, or `None` when it
/// may. Refused: more than [`MAX_CUSTOM_CSS`] bytes; anything that loads a
/// resource or runs code (`@import`, `url(`, `image-set(`, `expression`,
/// `-moz-binding`, `behavior`); `</` and `<!--` (which could end a style
/// element were it ever inlined); backslashes (CSS escapes could spell any
/// of these); control characters other than whitespace.
pub fn custom_css_problem(css: &str) -> Option<String> {
    if css.len() > MAX_CUSTOM_CSS {
        return Some(format!("must be at most {MAX_CUSTOM_CSS} bytes"));
    }
    if css.contains('\\') {
        return Some("may not contain backslash escapes".into());
    }
    if css
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Some("may not contain control characters".into());
    }
    let lower = css.to_ascii_lowercase();
    // Comments could split a keyword (`ur/**/l(` is not `url(` to CSS, but
    // `@im/**/port` is not an import either); checking with comments and
    // whitespace removed refuses both readings.
    let squeezed: String = strip_comments(&lower)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for (needle, what) in [
        ("@import", "@import"),
        ("url(", "url("),
        ("image-set(", "image-set("),
        ("expression", "expression"),
        ("-moz-binding", "-moz-binding"),
        ("behavior", "behavior"),
        ("</", "</"),
        ("<!--", "<!--"),
        ("javascript:", "javascript:"),
    ] {
        if lower.contains(needle) || squeezed.contains(needle) {
            return Some(format!("may not contain {what}"));
        }
    }
    None
}

fn strip_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("*/") {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_css_is_accepted() {
        assert_eq!(
            custom_css_problem(".hero { color: #123456; font-weight: 700 }\n"),
            None
        );
    }

    #[test]
    fn css_that_loads_or_escapes_is_refused() {
        for bad in [
            "@import 'x.css';",
            "@IMPORT 'x.css';",
            "body { background: url(https://evil.example/x.png) }",
            "body { background: URL (x) }",
            "body { background: ur/**/l(x) }",
            "a { width: expression(alert(1)) }",
            "a { -moz-binding: x }",
            "</style><script>",
            "a { content: '\\75rl(x)' }",
            "<!-- x",
            "a { background: image-set('x.png' 1x) }",
            "a\u{0}{}",
        ] {
            assert!(custom_css_problem(bad).is_some(), "accepted: {bad}");
        }
    }

    #[test]
    fn css_over_the_cap_is_refused() {
        let big = "a{}".repeat(MAX_CUSTOM_CSS / 3 + 1);
        assert!(custom_css_problem(&big).unwrap().contains("16384"));
    }

    #[test]
    fn settings_problems_name_their_field() {
        let s = StorefrontSettings {
            primary_color: Some("red".into()),
            font: Some("comic".into()),
            language: Some("fr".into()),
            logo: Some("https://x.example/logo.png".into()),
            ..Default::default()
        };
        let mut out = Vec::new();
        s.problems(&mut out);
        let fields: Vec<&str> = out.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                "storefront.logo",
                "storefront.primary_color",
                "storefront.font",
                "storefront.language"
            ]
        );
    }

    #[test]
    fn media_keys_have_the_store_form() {
        let t = uuid::Uuid::now_v7();
        let i = uuid::Uuid::now_v7();
        assert!(is_media_key(&format!("{t}/{i}.png")));
        assert!(!is_media_key(&format!("{t}/{i}.svg")));
        assert!(!is_media_key(&format!("../{i}.png")));
    }
}
