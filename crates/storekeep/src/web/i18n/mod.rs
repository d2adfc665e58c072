//! The storefront's interface strings: a compiled message catalogue, one
//! file per page area (`layout`, `catalog`; other areas add their own
//! file). Each area is a struct of `&'static str` fields with one `const`
//! per language, so a missing translation is a compile error (a struct
//! literal must name every field). A page takes the areas it needs with
//! `area::get(lang)`.

pub mod account;
pub mod cart;
pub mod catalog;
pub mod checkout;
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
            // `q` in any case (`Q=0.5`); a weight that is not a number
            // in 0–1 counts as 0 (the language is not chosen).
            let q = fields
                .find_map(|f| {
                    let (name, value) = f.split_once('=')?;
                    name.trim().eq_ignore_ascii_case("q").then_some(value)
                })
                .map_or(1.0, |q| {
                    q.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .unwrap_or(0.0)
                });
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

    #[test]
    fn the_q_parameter_is_case_insensitive() {
        assert_eq!(
            Lang::choose(Lang::En, true, Some("en;Q=0.2, de;Q=0.9")),
            Lang::De
        );
        assert_eq!(
            Lang::choose(Lang::De, true, Some("de;Q=0.1, en ; q = 0.8")),
            Lang::En
        );
        assert_eq!(Lang::choose(Lang::En, true, Some("de;Q=0")), Lang::En);
    }

    #[test]
    fn weights_outside_zero_to_one_count_as_zero() {
        // 7 is no weight: German is not preferred over English at 0.5.
        assert_eq!(
            Lang::choose(Lang::En, true, Some("de;q=7, en;q=0.5")),
            Lang::En
        );
        assert_eq!(Lang::choose(Lang::En, true, Some("de;q=-1")), Lang::En);
        assert_eq!(Lang::choose(Lang::En, true, Some("de;q=1.5")), Lang::En);
        assert_eq!(Lang::choose(Lang::En, true, Some("de;q=NaN")), Lang::En);
        assert_eq!(Lang::choose(Lang::En, true, Some("de;q=1")), Lang::De);
    }
}
