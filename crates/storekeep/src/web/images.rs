//! Every product image on every page is rendered here, by [`tag`]: an
//! image with resized variants (made once per upload, `media::variants`)
//! is a `<picture>` whose WebP `<source>` and fallback `<img>` list them in
//! `srcset` with the slot's `sizes`, so the browser fetches the smallest
//! that fills the slot; one without (older images before
//! `storekeep media variants`) is the plain `<img>` of the original.

use askama::Template;
use storekeep_domain::{ImageVariant, ProductImage};

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
    /// The WebP variants' `srcset` (empty: no `<picture>`).
    webp: String,
    /// The fallback family's variants' `srcset` (may be empty).
    srcset: String,
    sizes: &'static str,
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
    let (webp, family): (Vec<&ImageVariant>, Vec<&ImageVariant>) = image
        .variants
        .iter()
        .partition(|v| v.content_type == "image/webp");
    let (slot_width, sizes) = match slot {
        Slot::Card => (480, "(min-width: 40em) 240px, 50vw"),
        Slot::Full => (1200, "(min-width: 60em) 600px, 100vw"),
        Slot::Thumb => (160, "80px"),
    };
    // The fallback `src`: the narrowest variant of the original's family
    // that fills the slot, else the widest, else the original.
    let src = family
        .iter()
        .filter(|v| v.width >= slot_width)
        .min_by_key(|v| v.width)
        .or_else(|| family.iter().max_by_key(|v| v.width))
        .map_or(image.url.as_str(), |v| v.url.as_str());
    ImageTag {
        webp: srcset(&webp),
        srcset: srcset(&family),
        sizes,
        src,
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

/// `url 160w, url 480w, …`, narrowest first.
fn srcset(variants: &[&ImageVariant]) -> String {
    let mut sorted = variants.to_vec();
    sorted.sort_by_key(|v| v.width);
    sorted
        .iter()
        .map(|v| format!("{} {}w", v.url, v.width))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(variants: &[(u32, &str)]) -> ProductImage {
        ProductImage {
            id: storekeep_domain::ImageId::new(),
            product_id: storekeep_domain::ProductId::new(),
            key: "t/i.jpg".into(),
            url: "/media/t/i.jpg".into(),
            content_type: "image/jpeg".into(),
            width: 2000,
            height: 1000,
            size_bytes: 1,
            alt: "A lamp".into(),
            position: 0,
            created_at: chrono::Utc::now(),
            variants: variants
                .iter()
                .map(|&(w, ct)| ImageVariant {
                    key: String::new(),
                    url: format!(
                        "/media/t/i-{w}.{}",
                        if ct == "image/webp" { "webp" } else { "jpg" }
                    ),
                    width: w,
                    height: w / 2,
                    content_type: ct.into(),
                    size_bytes: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn an_image_with_variants_is_a_picture_offering_webp_and_its_own_family() {
        let img = image(&[
            (1200, "image/jpeg"),
            (1200, "image/webp"),
            (480, "image/jpeg"),
            (480, "image/webp"),
            (160, "image/jpeg"),
            (160, "image/webp"),
        ]);
        let html = tag(&img, Slot::Card, false, "Lamp");
        assert!(html.starts_with("<picture>"), "{html}");
        assert!(
            html.contains(r#"<source type="image/webp" srcset="/media/t/i-160.webp 160w, /media/t/i-480.webp 480w, /media/t/i-1200.webp 1200w""#),
            "{html}"
        );
        assert!(
            html.contains(r#"srcset="/media/t/i-160.jpg 160w, /media/t/i-480.jpg 480w, /media/t/i-1200.jpg 1200w""#),
            "{html}"
        );
        // The card's fallback is the 480 px copy; the box keeps the
        // original's proportions.
        assert!(html.contains(r#"src="/media/t/i-480.jpg""#), "{html}");
        assert!(html.contains(r#"width="2000" height="1000""#), "{html}");
        assert!(html.contains(r#"loading="lazy""#), "{html}");
        let full = tag(&img, Slot::Full, true, "Lamp");
        assert!(full.contains(r#"src="/media/t/i-1200.jpg""#), "{full}");
        assert!(!full.contains("loading="), "{full}");
    }

    #[test]
    fn an_image_without_variants_is_the_plain_original() {
        let html = tag(&image(&[]), Slot::Full, true, "Lamp");
        assert!(!html.contains("<picture>"), "{html}");
        assert!(!html.contains("srcset"), "{html}");
        assert!(html.contains(r#"src="/media/t/i.jpg""#), "{html}");
        assert!(html.contains(r#"alt="A lamp""#), "{html}");
    }

    #[test]
    fn a_small_image_falls_back_to_its_widest_copy() {
        let img = image(&[
            (300, "image/jpeg"),
            (300, "image/webp"),
            (160, "image/jpeg"),
        ]);
        let html = tag(&img, Slot::Full, true, "Lamp");
        assert!(html.contains(r#"src="/media/t/i-300.jpg""#), "{html}");
    }
}
