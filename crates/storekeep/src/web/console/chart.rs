//! Small bar charts for the operators' console, drawn as inline SVG
//! (presentation attributes only: no style, no script, so the strict CSP
//! holds), each with a title, a description and its figures as a table
//! for screen readers and for copying.

use crate::metrics_history::Minute;

/// Width and height of a chart's drawing, in its own units.
const W: f64 = 360.0;
const H: f64 = 80.0;

pub struct Bar {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
}

pub struct Chart {
    /// An id for the title/description references.
    pub id: &'static str,
    pub title: &'static str,
    /// The newest figure and the highest, as words.
    pub latest: String,
    pub peak: String,
    pub bars: Vec<Bar>,
    /// (minute, figure) rows, newest first.
    pub rows: Vec<(String, String)>,
}

fn chart(
    id: &'static str,
    title: &'static str,
    minutes: &[Minute],
    value: impl Fn(&Minute) -> Option<f64>,
    words: impl Fn(f64) -> String,
) -> Chart {
    let values: Vec<Option<f64>> = minutes.iter().map(&value).collect();
    let peak = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    // A slot per kept minute, the newest at the right edge, so a young
    // node's few minutes are drawn as few narrow bars.
    let slots = crate::metrics_history::KEEP.max(values.len());
    let slot = W / slots as f64;
    let first = slots - values.len();
    let bars = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let v = (*v)?;
            let h = if peak > 0.0 {
                (v / peak * (H - 2.0)).max(1.0)
            } else {
                1.0
            };
            Some(Bar {
                x: format!("{:.1}", (first + i) as f64 * slot + slot * 0.1),
                y: format!("{:.1}", H - h),
                w: format!("{:.1}", slot * 0.8),
                h: format!("{h:.1}"),
            })
        })
        .collect();
    let rows = minutes
        .iter()
        .zip(&values)
        .rev()
        .map(|(m, v)| {
            (
                m.at.format("%H:%M").to_string(),
                v.map_or_else(|| "—".into(), &words),
            )
        })
        .collect();
    Chart {
        id,
        title,
        latest: values
            .last()
            .copied()
            .flatten()
            .map_or_else(|| "—".into(), &words),
        peak: words(peak),
        bars,
        rows,
    }
}

/// The operators' four charts over `minutes` (oldest first, the minute in
/// progress last).
pub fn last_hour(minutes: &[Minute]) -> Vec<Chart> {
    let count = |n: f64| format!("{n:.0}");
    vec![
        chart(
            "requests",
            "Requests per minute",
            minutes,
            |m| Some(m.requests as f64),
            count,
        ),
        chart(
            "errors",
            "Server errors (5xx) per minute",
            minutes,
            |m| Some(m.errors as f64),
            count,
        ),
        chart(
            "p99",
            "p99 latency",
            minutes,
            |m| m.p99_ms,
            |ms| format!("{ms:.1} ms"),
        ),
        chart(
            "orders",
            "Orders per minute",
            minutes,
            |m| Some(m.orders as f64),
            count,
        ),
    ]
}
