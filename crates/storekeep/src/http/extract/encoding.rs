//! Which content codings the client takes (`Accept-Encoding`).

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_ENCODING;
use axum::http::request::Parts;

/// Whether the client takes a gzip body: `gzip` with a non-zero weight,
/// or — when `gzip` is not named — `*` with a non-zero weight. A named
/// `gzip;q=0` refuses it whatever `*` says (RFC 9110 §12.5.3).
pub struct AcceptsGzip(pub bool);

impl<S: Sync> FromRequestParts<S> for AcceptsGzip {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let values = parts
            .headers
            .get_all(ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(Self(accepts_gzip(values)))
    }
}

fn accepts_gzip<'a>(values: impl Iterator<Item = &'a str>) -> bool {
    let (mut gzip, mut any) = (None, None);
    for coding in values.flat_map(|v| v.split(',')) {
        let mut fields = coding.split(';').map(str::trim);
        let name = fields.next().unwrap_or_default();
        let weighted = !fields.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if name.eq_ignore_ascii_case("gzip") {
            gzip = Some(weighted);
        } else if name == "*" {
            any = Some(weighted);
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_is_taken_when_named_or_covered_by_a_wildcard() {
        let takes = |v: &str| accepts_gzip(std::iter::once(v));
        assert!(takes("gzip"));
        assert!(takes("br, GZIP;q=0.8"));
        assert!(takes("*"));
        assert!(!takes("gzip;q=0"));
        assert!(!takes("gzip;q=0, *"), "a named refusal beats the wildcard");
        assert!(!takes("identity"));
        assert!(!takes("deflate, br"));
        assert!(!takes("*;q=0"));
        assert!(
            accepts_gzip(["br", "gzip"].into_iter()),
            "across header lines"
        );
    }
}
