//! The storefront's interface strings: a compiled message catalogue, one
//! file per page area (`layout`, `catalog`; other areas add their own
//! file). Each area is a struct of `&'static str` fields with one `const`
//! per language, so a missing translation is a compile error (a struct
//! literal must name every field). A page takes the areas it needs with
//! `area::get(lang)`.

pub mod catalog;
pub mod layout;
pub mod rental;

/// A language the storefront speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    pub const ALL: [Self; 2] = [Self::En, Self::De];

    /// The BCP 47 tag, as `<html lang>` and `Content-Language` carry it.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "en" => Some(Self::En),
            "de" => Some(Self::De),
            _ => None,
        }
    }

    /// The shop's language, or — when the shop follows the browser — the
    /// language the browser prefers most among those the storefront
    /// speaks (`Accept-Language`, by q-value; ties keep the header's
    /// order; none spoken → the shop's).
    pub fn choose(shop: Self, follow_browser: bool, accept_language: Option<&str>) -> Self {
        if !follow_browser {
            return shop;
        }
        let Some(header) = accept_language else {
            return shop;
        };
        let mut best: Option<(Self, f32)> = None;
        for item in header.split(',').take(32) {
            let mut fields = item.split(';').map(str::trim);
            let tag = fields.next().unwrap_or_default().to_ascii_lowercase();
            let primary = tag.split('-').next().unwrap_or_default();
            let q = fields
                .find_map(|f| f.strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let Some(lang) = Self::parse(primary) else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((lang, q));
            }
        }
        best.map_or(shop, |(lang, _)| lang)
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn the_browser_chooses_only_when_the_shop_follows_it() {
        assert_eq!(
            Lang::choose(Lang::En, true, Some("de-DE,de;q=0.9,en;q=0.8")),
            Lang::De
        );
        assert_eq!(Lang::choose(Lang::En, false, Some("de-DE")), Lang::En);
        assert_eq!(
            Lang::choose(Lang::De, true, Some("fr-FR, en;q=0.5")),
            Lang::En
        );
        assert_eq!(Lang::choose(Lang::De, true, Some("fr-FR")), Lang::De);
        assert_eq!(Lang::choose(Lang::De, true, None), Lang::De);
        assert_eq!(
            Lang::choose(Lang::En, true, Some("en;q=0.4, de;q=0.7")),
            Lang::De
        );
        assert_eq!(Lang::choose(Lang::En, true, Some("de;q=0")), Lang::En);
    }
}
