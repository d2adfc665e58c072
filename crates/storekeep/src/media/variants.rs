//! Resized variants of a product image, made once per upload: bytes in,
//! variants out, no I/O.
//!
//! - **Slots**: thumbnail 160, card 480 and full 1200 px wide, the aspect
//!   ratio kept (height rounded, at least 1). Never upscaled: a slot wider
//!   than the original is served at the original's width, so a 300 px
//!   image gets a 160 px variant and one 300 px variant (for card and
//!   full); one at most 160 px wide gets a single variant of its own size.
//!   Widths that coincide are made once.
//! - **Formats**: each width in the original's family — PNG when the image
//!   has a pixel that is not fully opaque, JPEG otherwise (JPEG, an opaque
//!   PNG or WebP) — and in lossy WebP (libwebp, quality [`WEBP_QUALITY`]).
//!   GIFs get none (an animation would become one still frame): the
//!   original is served as it is.
//! - **Metadata** is stripped (variants are encoded from pixels: no EXIF,
//!   no ICC profile, no comments); an EXIF orientation is applied first, so
//!   a variant's width and height are as displayed.
//! - **Bounded decoding**: the decoder refuses more than `max_pixels`
//!   (`media.max_image_pixels`) or [`MAX_DIMENSION`] a side, and allocations
//!   past 8 bytes a pixel, before it allocates.
//!
//! [`make`] is CPU work for tens or hundreds of milliseconds: callers run it
//! through [`make_bounded`], on the blocking pool, at most [`permits`] at
//! once in the process, so uploads cannot take every core from requests.

use std::io::Cursor;
use std::sync::LazyLock;

use fast_image_resize as fr;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, Limits};

use super::MAX_DIMENSION;

/// The slots' names and widths, narrowest first.
pub const SLOTS: [(&str, u32); 3] = [("thumbnail", 160), ("card", 480), ("full", 1200)];
/// Quality of the JPEG variants (0–100).
pub const JPEG_QUALITY: u8 = 82;
/// Quality of the lossy WebP variants (0–100).
pub const WEBP_QUALITY: f32 = 80.0;

/// One variant made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub width: u32,
    pub height: u32,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Why no variants could be made.
#[derive(Debug, thiserror::Error)]
pub enum VariantError {
    /// The image is larger than the limits allow (a decompression bomb
    /// refused before its pixels are allocated).
    #[error("the image is too large to process: {0}")]
    TooLarge(String),
    /// Its data cannot be decoded.
    #[error("the image cannot be decoded: {0}")]
    Undecodable(String),
    /// An encoder failed.
    #[error("a variant could not be encoded: {0}")]
    Encode(String),
}

/// The widths to make for an image `width` pixels wide: each slot's,
/// capped at `width`, each once, narrowest first.
pub fn widths(width: u32) -> Vec<u32> {
    let mut out: Vec<u32> = SLOTS.iter().map(|(_, w)| (*w).min(width)).collect();
    out.dedup();
    out
}

/// The height that keeps the aspect ratio at `to_width`.
pub fn scaled_height(width: u32, height: u32, to_width: u32) -> u32 {
    let h = (u64::from(height) * u64::from(to_width) + u64::from(width) / 2) / u64::from(width);
    (h as u32).max(1)
}

/// Makes the variants of an image (JPEG, PNG or WebP; a GIF gets none),
/// widest first, family format then WebP at each width.
pub fn make(bytes: &[u8], max_pixels: u64) -> Result<Vec<Made>, VariantError> {
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| VariantError::Undecodable(e.to_string()))?;
    match reader.format() {
        Some(image::ImageFormat::Jpeg | image::ImageFormat::Png | image::ImageFormat::WebP) => {}
        // Accepted uploads are JPEG, PNG, WebP or GIF: a GIF keeps its
        // frames by being served as uploaded.
        _ => return Ok(Vec::new()),
    }
    // The header's promise first: a bomb is refused before a decoder reads
    // on (the decoder's limits below hold it to the same bounds).
    if let Ok(size) = imagesize::blob_size(bytes) {
        let pixels = size.width as u64 * size.height as u64;
        if pixels > max_pixels || size.width > MAX_DIMENSION || size.height > MAX_DIMENSION {
            return Err(VariantError::TooLarge(format!(
                "{} × {} pixels; at most {max_pixels} are accepted",
                size.width, size.height
            )));
        }
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION as u32);
    limits.max_image_height = Some(MAX_DIMENSION as u32);
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    let mut decoder = reader.into_decoder().map_err(classify)?;
    decoder.set_limits(limits).map_err(classify)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(VariantError::TooLarge(format!(
            "{w} × {h} pixels; at most {max_pixels} are accepted"
        )));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut decoded = DynamicImage::from_decoder(decoder).map_err(classify)?;
    decoded.apply_orientation(orientation);
    let (width, height) = (decoded.width(), decoded.height());
    let alpha = decoded.color().has_alpha();
    let (pixels, pixel_type, transparent) = if alpha {
        let rgba = decoded.into_rgba8();
        let transparent = rgba.pixels().any(|p| p.0[3] != u8::MAX);
        if transparent {
            (rgba.into_raw(), fr::PixelType::U8x4, true)
        } else {
            // Opaque after all: drop the channel (JPEG, smaller WebP).
            let rgb = DynamicImage::ImageRgba8(rgba).into_rgb8();
            (rgb.into_raw(), fr::PixelType::U8x3, false)
        }
    } else {
        (decoded.into_rgb8().into_raw(), fr::PixelType::U8x3, false)
    };
    let source = fr::images::Image::from_vec_u8(width, height, pixels, pixel_type)
        .map_err(|e| VariantError::Undecodable(e.to_string()))?;
    let mut resizer = fr::Resizer::new();
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    let mut made = Vec::new();
    // Widest first, each narrower one resized from the one before it (a
    // smaller source: much less work, and at ratios of 2.5 or more no loss
    // a viewer sees).
    let mut previous: Option<fr::images::Image<'static>> = None;
    for to in widths(width).into_iter().rev() {
        let to_height = scaled_height(width, height, to);
        let scaled = {
            let from = previous.as_ref().unwrap_or(&source);
            if from.width() == to && from.height() == to_height {
                fr::images::Image::from_vec_u8(to, to_height, from.buffer().to_vec(), pixel_type)
                    .map_err(|e| VariantError::Encode(e.to_string()))?
            } else {
                let mut dst = fr::images::Image::new(to, to_height, pixel_type);
                resizer
                    .resize(from, &mut dst, &options)
                    .map_err(|e| VariantError::Encode(e.to_string()))?;
                dst
            }
        };
        made.push(encode_family(&scaled, transparent)?);
        made.push(encode_webp(&scaled, transparent));
        previous = Some(scaled);
    }
    Ok(made)
}

fn classify(e: image::ImageError) -> VariantError {
    match e {
        image::ImageError::Limits(l) => VariantError::TooLarge(l.to_string()),
        other => VariantError::Undecodable(other.to_string()),
    }
}

fn encode_family(image: &fr::images::Image<'_>, transparent: bool) -> Result<Made, VariantError> {
    let (w, h) = (image.width(), image.height());
    let mut bytes = Vec::new();
    let content_type = if transparent {
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(image.buffer(), w, h, ExtendedColorType::Rgba8)
            .map_err(|e| VariantError::Encode(e.to_string()))?;
        "image/png"
    } else {
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
            .write_image(image.buffer(), w, h, ExtendedColorType::Rgb8)
            .map_err(|e| VariantError::Encode(e.to_string()))?;
        "image/jpeg"
    };
    Ok(Made {
        width: w,
        height: h,
        content_type,
        bytes,
    })
}

fn encode_webp(image: &fr::images::Image<'_>, transparent: bool) -> Made {
    let (w, h) = (image.width(), image.height());
    let encoder = if transparent {
        webp::Encoder::from_rgba(image.buffer(), w, h)
    } else {
        webp::Encoder::from_rgb(image.buffer(), w, h)
    };
    Made {
        width: w,
        height: h,
        content_type: "image/webp",
        bytes: encoder.encode(WEBP_QUALITY).to_vec(),
    }
}

/// How many images are processed at once in this process: half the
/// cores, at least one, so requests keep the rest.
pub fn permits() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

static PERMITS: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(permits()));

/// [`make`] on the blocking pool, waiting (without holding a thread) for
/// one of the process's [`permits`].
pub async fn make_bounded(bytes: bytes::Bytes, max_pixels: u64) -> Result<Vec<Made>, VariantError> {
    let _permit = PERMITS
        .acquire()
        .await
        .map_err(|e| VariantError::Encode(e.to_string()))?;
    tokio::task::spawn_blocking(move || make(&bytes, max_pixels))
        .await
        .map_err(|e| VariantError::Encode(format!("the resizing task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(img: DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn decode(made: &Made) -> DynamicImage {
        image::load_from_memory(&made.bytes).unwrap()
    }

    fn photo(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        }))
    }

    #[test]
    fn widths_never_exceed_the_original_and_are_made_once() {
        assert_eq!(widths(4000), vec![160, 480, 1200]);
        assert_eq!(widths(1200), vec![160, 480, 1200]);
        assert_eq!(widths(300), vec![160, 300]);
        assert_eq!(widths(160), vec![160]);
        assert_eq!(widths(40), vec![40]);
        assert_eq!(scaled_height(4000, 3000, 160), 120);
        assert_eq!(scaled_height(3000, 1, 160), 1);
    }

    #[test]
    fn a_jpeg_gets_jpeg_and_webp_at_each_width_widest_first() {
        let made = make(
            &encode(photo(2000, 1000), image::ImageFormat::Jpeg),
            40_000_000,
        )
        .unwrap();
        let got: Vec<_> = made
            .iter()
            .map(|m| (m.width, m.height, m.content_type))
            .collect();
        assert_eq!(
            got,
            vec![
                (1200, 600, "image/jpeg"),
                (1200, 600, "image/webp"),
                (480, 240, "image/jpeg"),
                (480, 240, "image/webp"),
                (160, 80, "image/jpeg"),
                (160, 80, "image/webp"),
            ]
        );
        for m in &made {
            let d = decode(m);
            assert_eq!((d.width(), d.height()), (m.width, m.height));
        }
        assert_eq!(
            image::guess_format(&made[1].bytes).unwrap(),
            image::ImageFormat::WebP
        );
    }

    #[test]
    fn transparency_keeps_png_and_an_opaque_png_becomes_jpeg() {
        let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(600, 300, |x, _| {
            image::Rgba([200, 10, 10, if x < 300 { 0 } else { 255 }])
        }));
        let made = make(&encode(rgba, image::ImageFormat::Png), 40_000_000).unwrap();
        assert_eq!(made[0].content_type, "image/png");
        assert_eq!((made[0].width, made[0].height), (600, 300));
        assert!(decode(&made[0]).color().has_alpha());
        assert!(decode(&made[1]).color().has_alpha(), "the WebP keeps alpha");
        let opaque = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            200,
            100,
            image::Rgba([1, 2, 3, 255]),
        ));
        let made = make(&encode(opaque, image::ImageFormat::Png), 40_000_000).unwrap();
        assert_eq!(made[0].content_type, "image/jpeg");
    }

    #[test]
    fn a_small_image_is_not_upscaled() {
        let made = make(&encode(photo(120, 90), image::ImageFormat::Png), 40_000_000).unwrap();
        assert_eq!(made.len(), 2);
        assert!(made.iter().all(|m| (m.width, m.height) == (120, 90)));
    }

    #[test]
    fn exif_orientation_is_applied_and_metadata_is_dropped() {
        // A 200×100 JPEG marked "rotate 90°" (EXIF orientation 6).
        let jpeg = encode(photo(200, 100), image::ImageFormat::Jpeg);
        let mut exif = vec![0xFF, 0xE1];
        let tiff: &[u8] = &[
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0,
            0, 0, 0,
        ];
        let len = (2 + 6 + tiff.len()) as u16;
        exif.extend_from_slice(&len.to_be_bytes());
        exif.extend_from_slice(b"Exif\0\0");
        exif.extend_from_slice(tiff);
        let mut marked = jpeg[..2].to_vec();
        marked.extend_from_slice(&exif);
        marked.extend_from_slice(&jpeg[2..]);
        let made = make(&marked, 40_000_000).unwrap();
        assert_eq!((made[0].width, made[0].height), (100, 200));
        for m in &made {
            assert!(
                !m.bytes.windows(6).any(|w| w == b"Exif\0\0"),
                "no EXIF in {}",
                m.content_type
            );
        }
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_decoding() {
        // A valid PNG header declaring 20,000 × 20,000 pixels, a few bytes long.
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&20_000u32.to_be_bytes());
        png.extend_from_slice(&20_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0]);
        let crc = crc32(&png[12..]);
        png.extend_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            make(&png, 40_000_000),
            Err(VariantError::TooLarge(_))
        ));
        assert!(matches!(
            make(b"\xFF\xD8\xFF\xE0garbage", 40_000_000),
            Err(VariantError::Undecodable(_))
        ));
    }

    #[test]
    fn a_gif_gets_no_variants() {
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(make(gif, 40_000_000).unwrap(), vec![]);
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for b in bytes {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
