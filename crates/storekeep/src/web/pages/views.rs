//! What the catalog templates show of a product: prices formatted, stock
//! stated, the image rendered through `images::tag`.

use storekeep_domain::Product;

use crate::web::i18n::{Lang, catalog::CatalogMsgs};
use crate::web::images::{self, Slot};
use crate::web::money;

/// Stock shown as "few left" at or below this many units.
pub const FEW_LEFT: i64 = 5;

/// A product in a grid.
pub struct Card {
    pub title: String,
    pub url: String,
    pub image: Option<String>,
    /// "$19.99" or "from $19.99".
    pub price: String,
    pub compare_at: Option<String>,
    pub in_stock: bool,
}

impl Card {
    /// `eager`: the card is above the fold (its image loads at once).
    pub fn new(p: &Product, currency: &str, lang: Lang, t: &CatalogMsgs, eager: bool) -> Self {
        let min = p.min_price().unwrap_or(0);
        let varies = p.variants.iter().any(|v| v.price.amount != min);
        let price = money::format(min, currency, lang);
        let cheapest = p.variants.iter().find(|v| v.price.amount == min);
        let compare_at = cheapest
            .and_then(|v| v.compare_at_price.as_ref())
            .filter(|c| c.amount > min && !varies)
            .map(|c| {
                t.was_price
                    .replace("{price}", &money::format(c.amount, currency, lang))
            });
        Self {
            title: p.title.clone(),
            url: format!("/products/{}", p.handle.as_str()),
            image: p
                .images
                .first()
                .map(|i| images::tag(i, Slot::Card, eager, &p.title)),
            price: if varies {
                t.from_price.replace("{price}", &price)
            } else {
                price
            },
            compare_at,
            in_stock: p.variants.iter().any(|v| v.inventory.available > 0),
        }
    }

    pub fn list(products: &[Product], currency: &str, lang: Lang, t: &CatalogMsgs) -> Vec<Self> {
        products
            .iter()
            .enumerate()
            .map(|(i, p)| Self::new(p, currency, lang, t, i < 4))
            .collect()
    }
}

/// A moment in the shop's time zone, as pages show it.
pub fn when(at: chrono::DateTime<chrono::Utc>, time_zone: &str, lang: Lang) -> String {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = at.with_timezone(&tz);
    match lang {
        Lang::En => local.format("%b %-d, %H:%M").to_string(),
        Lang::De => local.format("%-d.%-m., %H:%M Uhr").to_string(),
    }
}
