//! Money as a shopper reads it: the amount in the currency's minor units,
//! written with the currency's decimals and the language's separators and
//! symbol placement (`$1,234.56` in English, `1.234,56 €` in German,
//! `¥1,235` for a zero-decimal currency).

use crate::web::i18n::Lang;

/// Decimal places of `currency` (ISO 4217 minor units), from the one
/// table in `storekeep_domain::minor_digits`.
pub fn decimals(currency: &str) -> u32 {
    storekeep_domain::minor_digits(currency)
}

/// The symbol shown for `currency`, where one is unambiguous in `lang`;
/// `None` writes the ISO code.
fn symbol(currency: &str, lang: Lang) -> Option<&'static str> {
    Some(match (currency, lang) {
        ("USD", Lang::En) => "$",
        ("USD", Lang::De) => "$",
        ("EUR", _) => "€",
        ("GBP", _) => "£",
        ("JPY", _) => "¥",
        ("INR", _) => "₹",
        ("KRW", _) => "₩",
        ("CAD", Lang::En) => "CA$",
        ("AUD", Lang::En) => "A$",
        _ => return None,
    })
}

/// `amount` minor units of `currency`, formatted for `lang`.
pub fn format(amount: i64, currency: &str, lang: Lang) -> String {
    let places = decimals(currency);
    let unit = 10_i128.pow(places);
    let abs = i128::from(amount).abs();
    let (whole, frac) = (abs / unit, abs % unit);
    let (group, point) = match lang {
        Lang::En => (',', '.'),
        Lang::De => ('.', ','),
    };
    let digits = whole.to_string();
    let mut number = String::with_capacity(digits.len() + 8);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            number.push(group);
        }
        number.push(c);
    }
    if places > 0 {
        number.push(point);
        number.push_str(&format!("{frac:0width$}", width = places as usize));
    }
    let sign = if amount < 0 { "-" } else { "" };
    match (lang, symbol(currency, lang)) {
        (Lang::En, Some(s)) => format!("{sign}{s}{number}"),
        (Lang::En, None) => format!("{sign}{currency}\u{a0}{number}"),
        (Lang::De, Some(s)) => format!("{sign}{number}\u{a0}{s}"),
        (Lang::De, None) => format!("{sign}{number}\u{a0}{currency}"),
    }
}

/// The plain decimal amount (`19.99`, `1235`), as schema.org and
/// OpenGraph want a price: no symbol, a point, no grouping.
pub fn plain(amount: i64, currency: &str) -> String {
    let places = decimals(currency);
    let unit = 10_i128.pow(places);
    let abs = i128::from(amount).abs();
    let sign = if amount < 0 { "-" } else { "" };
    if places == 0 {
        format!("{sign}{abs}")
    } else {
        format!(
            "{sign}{}.{:0width$}",
            abs / unit,
            abs % unit,
            width = places as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_puts_the_symbol_first_and_groups_with_commas() {
        assert_eq!(format(1999, "USD", Lang::En), "$19.99");
        assert_eq!(format(123_456_789, "USD", Lang::En), "$1,234,567.89");
        assert_eq!(format(5, "GBP", Lang::En), "£0.05");
        assert_eq!(format(-250, "USD", Lang::En), "-$2.50");
        assert_eq!(format(100_000, "SEK", Lang::En), "SEK\u{a0}1,000.00");
    }

    #[test]
    fn german_puts_the_symbol_last_with_a_decimal_comma() {
        assert_eq!(format(1999, "EUR", Lang::De), "19,99\u{a0}€");
        assert_eq!(format(123_456, "EUR", Lang::De), "1.234,56\u{a0}€");
        assert_eq!(format(1999, "USD", Lang::De), "19,99\u{a0}$");
        assert_eq!(format(1000, "CHF", Lang::De), "10,00\u{a0}CHF");
    }

    #[test]
    fn zero_and_three_decimal_currencies() {
        assert_eq!(format(1235, "JPY", Lang::En), "¥1,235");
        assert_eq!(format(1235, "JPY", Lang::De), "1.235\u{a0}¥");
        assert_eq!(format(1_500, "KWD", Lang::En), "KWD\u{a0}1.500");
        assert_eq!(plain(1235, "JPY"), "1235");
        assert_eq!(plain(1999, "USD"), "19.99");
        assert_eq!(plain(7, "USD"), "0.07");
        assert_eq!(plain(1_500, "KWD"), "1.500");
    }

    #[test]
    fn extremes_do_not_overflow() {
        assert_eq!(
            format(i64::MIN, "USD", Lang::En),
            "-$92,233,720,368,547,758.08"
        );
        assert_eq!(format(0, "USD", Lang::En), "$0.00");
    }
}

/// A price a shopper typed in `currency`'s minor units, read the way
/// `lang` writes numbers and forgiving the other way: `19.99`, `19,99`,
/// `1,234.50`, `1.234,50`, `20`. With both marks the last is the decimal
/// one; a mark used twice groups thousands; one mark followed by exactly
/// three digits is `lang`'s choice (`1,500` is fifteen hundred in English,
/// one and a half in German); otherwise one mark is the decimal point.
/// Digits beyond the currency's decimals are accepted only as zeros.
/// `None` when it is not a plain non-negative amount.
pub fn parse_major(raw: &str, currency: &str, lang: Lang) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty()
        || raw.len() > 24
        || !raw
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return None;
    }
    let count = |m: char| raw.matches(m).count();
    let point = match lang {
        Lang::En => '.',
        Lang::De => ',',
    };
    let last_mark = raw
        .rfind(['.', ','])
        .map(|i| (i, char::from(raw.as_bytes()[i])));
    let decimal_at = match last_mark {
        None => None,
        Some((i, m)) => {
            let other = if m == '.' { ',' } else { '.' };
            if count(other) > 0 {
                if count(m) > 1 {
                    return None;
                }
                Some(i)
            } else if count(m) > 1 {
                None
            } else if raw.len() - i - 1 == 3 {
                (m == point).then_some(i)
            } else {
                Some(i)
            }
        }
    };
    let (whole, frac) = match decimal_at {
        Some(i) => (&raw[..i], &raw[i + 1..]),
        None => (raw, ""),
    };
    // The whole part: plain digits, or groups of three after the first.
    let groups: Vec<&str> = whole.split(['.', ',']).collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return None;
    }
    let whole: String = groups.concat();
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let places = decimals(currency) as usize;
    let (kept, beyond) = frac.split_at(frac.len().min(places));
    if beyond.bytes().any(|b| b != b'0') {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = if kept.is_empty() {
        0
    } else {
        format!("{kept:0<places$}").parse().ok()?
    };
    whole
        .checked_mul(10_i64.pow(places as u32))?
        .checked_add(frac)
}

#[cfg(test)]
mod parse_tests {
    use super::parse_major;
    use crate::web::i18n::Lang::{De, En};

    #[test]
    fn typed_prices_become_minor_units() {
        assert_eq!(parse_major("19.99", "USD", En), Some(1999));
        assert_eq!(parse_major("19,9", "EUR", De), Some(1990));
        assert_eq!(parse_major("19,99", "USD", En), Some(1999));
        assert_eq!(parse_major("19.99", "EUR", De), Some(1999));
        assert_eq!(parse_major(" 20 ", "USD", En), Some(2000));
        assert_eq!(parse_major(".5", "USD", En), Some(50));
        assert_eq!(parse_major("1235", "JPY", En), Some(1235));
        assert_eq!(parse_major("12.5", "JPY", En), None);
        assert_eq!(parse_major("12.00", "JPY", En), Some(12));
        assert_eq!(parse_major("-1", "USD", En), None);
        assert_eq!(parse_major("1e3", "USD", En), None);
        assert_eq!(parse_major("", "USD", En), None);
        assert_eq!(parse_major(".", "USD", En), None);
        assert_eq!(parse_major("19.999", "USD", De), Some(1_999_900));
        assert_eq!(parse_major("19.999", "USD", En), None);
    }

    #[test]
    fn thousands_groups_follow_the_language() {
        assert_eq!(parse_major("1,000", "USD", En), Some(100_000));
        assert_eq!(parse_major("1,234.50", "USD", En), Some(123_450));
        assert_eq!(parse_major("1.234,50", "EUR", De), Some(123_450));
        assert_eq!(parse_major("1.234,50", "EUR", En), Some(123_450));
        assert_eq!(parse_major("1,234,567", "USD", En), Some(123_456_700));
        assert_eq!(parse_major("1.000", "EUR", De), Some(100_000));
        assert_eq!(parse_major("1,000", "JPY", En), Some(1000));
        // One mark and three digits: the language decides.
        assert_eq!(parse_major("1,500", "KWD", En), Some(1_500_000));
        assert_eq!(parse_major("1,500", "KWD", De), Some(1_500));
        assert_eq!(parse_major("1.500", "KWD", En), Some(1_500));
        // Groups must be groups.
        assert_eq!(parse_major("1,23,456", "USD", En), None);
        assert_eq!(parse_major("1,2.50", "USD", En), None);
        assert_eq!(parse_major("1.234.5", "USD", En), None);
        assert_eq!(parse_major("1,234.5,0", "USD", En), None);
    }

    #[test]
    fn four_decimal_units_of_account() {
        assert_eq!(parse_major("1.2345", "CLF", En), Some(12_345));
        assert_eq!(parse_major("2", "UYW", En), Some(20_000));
    }
}
