//! Every product image on every page is rendered here, by [`tag`]: the one
//! seam where resized variants (`srcset`, `<picture>` with WebP) plug in
//! once the image API offers them.

use askama::Template;
use storekeep_domain::ProductImage;

/// Where an image is shown, which decides the `sizes` a variant set will
/// need and whether it loads at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A product card in a grid.
    Card,
    /// The product page's main image.
    Full,
    /// A small image (a thumbnail strip, a cart line).
    Thumb,
}

#[derive(Template)]
#[template(path = "storefront/_image.html")]
struct ImageTag<'a> {
    src: &'a str,
    width: u32,
    height: u32,
    alt: &'a str,
    /// Below the fold: `loading="lazy"`.
    lazy: bool,
    class: &'static str,
}

/// The `<img>` for `image` in `slot`: width and height set (no layout
/// shift), `alt` (the image's own, else `fallback_alt`, the product's
/// title; empty on a card, whose link text names the product),
/// `decoding="async"`, and `loading="lazy"` unless `eager` (the
/// images above the fold).
pub fn tag(image: &ProductImage, slot: Slot, eager: bool, fallback_alt: &str) -> String {
    // A card's link text already names the product: its image is
    // decoration there (`alt=""`), not the name read twice.
    let alt = if slot == Slot::Card {
        ""
    } else if image.alt.trim().is_empty() {
        fallback_alt
    } else {
        &image.alt
    };
    ImageTag {
        src: &image.url,
        width: image.width,
        height: image.height,
        alt,
        lazy: !eager,
        class: match slot {
            Slot::Card => "img-card",
            Slot::Full => "img-full",
            Slot::Thumb => "img-thumb",
        },
    }
    .render()
    .unwrap_or_default()
}
