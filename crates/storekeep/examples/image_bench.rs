//! `scripts/bench images`: the cost of making an upload's variants
//! (`media::variants::make`: decode, orientation, resize to 1200/480/160,
//! encode JPEG or PNG and WebP) against the bare decode of the same image
//! in the same run — decoding is the floor any variant maker pays, so the
//! ratio says what the resizing and encoding add. Also, for the choices made:
//! the 1200 px variant's size as lossy WebP (libwebp), JPEG, and image's
//! own lossless WebP; and fast_image_resize against `image::imageops`.
//!
//! ROUNDS (default 7) alternating rounds; the medians are printed as JSON.

use std::io::Cursor;
use std::time::Instant;

use image::{DynamicImage, ImageFormat, RgbImage};
use storekeep::media::variants;

/// A photo-like test image: smooth gradients with fine noise (a flat or
/// purely random image would compress unlike a photograph).
fn photo(w: u32, h: u32) -> DynamicImage {
    let mut seed = 0x2545_f491_u32;
    let img = RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed % 24) as i32 - 12;
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let wave = ((fx * 9.0).sin() * (fy * 7.0).cos() * 60.0) as i32;
        let c = |base: f32| (base as i32 + wave + n).clamp(0, 255) as u8;
        image::Rgb([
            c(200.0 * fx + 30.0),
            c(180.0 * fy + 40.0),
            c(120.0 * (1.0 - fx) + 60.0),
        ])
    });
    DynamicImage::ImageRgb8(img)
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let mut results = Vec::new();
    for (w, h) in [(4000u32, 3000u32), (1600, 1200)] {
        let source = photo(w, h);
        let jpeg = encode(&source, ImageFormat::Jpeg);
        let megapixels = f64::from(w) * f64::from(h) / 1e6;
        let (mut decode_ms, mut make_ms) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            let d = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg).unwrap();
            std::hint::black_box(d);
            decode_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let made = variants::make(&jpeg, 40_000_000).unwrap();
            std::hint::black_box(made);
            make_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (decode, make) = (median(decode_ms), median(make_ms));
        results.push(serde_json::json!({
            "image": format!("{w}x{h} JPEG ({} KiB)", jpeg.len() / 1024),
            "decode_ms": round(decode),
            "variants_ms": round(make),
            "decode_ms_per_megapixel": round(decode / megapixels),
            "variants_ms_per_megapixel": round(make / megapixels),
            "variants_over_decode": round(make / decode),
        }));
    }

    // The choices: resizer and WebP encoder, on the 1200 px slot of a 12 MP photo.
    let source = photo(4000, 3000);
    let rgb = source.to_rgb8();
    let (mut fir_ms, mut imageops_ms) = (Vec::new(), Vec::new());
    let mut resized = None;
    for _ in 0..rounds {
        let t = Instant::now();
        let src = fast_image_resize::images::Image::from_vec_u8(
            4000,
            3000,
            rgb.as_raw().clone(),
            fast_image_resize::PixelType::U8x3,
        )
        .unwrap();
        let mut dst =
            fast_image_resize::images::Image::new(1200, 900, fast_image_resize::PixelType::U8x3);
        fast_image_resize::Resizer::new()
            .resize(
                &src,
                &mut dst,
                &fast_image_resize::ResizeOptions::new().resize_alg(
                    fast_image_resize::ResizeAlg::Convolution(
                        fast_image_resize::FilterType::Lanczos3,
                    ),
                ),
            )
            .unwrap();
        fir_ms.push(t.elapsed().as_secs_f64() * 1e3);
        resized = Some(dst);
        let t = Instant::now();
        let r = image::imageops::resize(&rgb, 1200, 900, image::imageops::FilterType::Lanczos3);
        std::hint::black_box(r);
        imageops_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let resized = resized.unwrap();
    let small =
        DynamicImage::ImageRgb8(RgbImage::from_raw(1200, 900, resized.buffer().to_vec()).unwrap());
    let jpeg = {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, variants::JPEG_QUALITY)
            .encode_image(&small)
            .unwrap();
        out.len()
    };
    let lossy = webp::Encoder::from_rgb(resized.buffer(), 1200, 900)
        .encode(variants::WEBP_QUALITY)
        .len();
    let lossless = encode(&small, ImageFormat::WebP).len();
    let out = serde_json::json!({
        "rounds": rounds,
        "variants": results,
        "resize_12mp_to_1200_ms": {
            "fast_image_resize": round(median(fir_ms)),
            "image_imageops": round(median(imageops_ms)),
        },
        "slot_1200_bytes": {
            "jpeg_q82": jpeg,
            "webp_lossy_q80_libwebp": lossy,
            "webp_lossless_image_crate": lossless,
        },
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
