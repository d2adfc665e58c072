//! The CSV side of bulk import and export: cells a spreadsheet would run
//! as formulas are guarded on export and restored on import, and quoting is
//! followed so an unclosed quote is reported as what it is.

use std::io::Read;

/// Characters that make a spreadsheet read a cell as a formula (OWASP CSV
/// injection guidance).
const FORMULA_START: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would run this cell, looking past the `'`s an
/// export puts in front.
fn formula_like(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(FORMULA_START)
}

/// A cell as the CSV export writes it: one `'` in front of anything a
/// spreadsheet would run (`=HYPERLINK(...)` becomes `'=HYPERLINK(...)`),
/// and in front of a value that already starts with `'`s before such a
/// character, so [`unguard_cell`] restores every value exactly.
pub fn guard_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A CSV cell as imported: the one `'` [`guard_cell`] added is removed.
pub fn unguard_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

/// Passes a CSV file through, following its quoting as the `csv` crate
/// reads it, to tell afterwards whether a quoted field was never closed
/// (the reader then takes the rest of the file as that field, silently).
pub struct QuoteWatch<R> {
    inner: R,
    state: Quoting,
    line: u64,
    opened_on: u64,
    started: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl<R> QuoteWatch<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            state: Quoting::FieldStart,
            line: 1,
            opened_on: 0,
            started: false,
        }
    }

    /// The line a still-open quoted field began on.
    pub fn unclosed(&self) -> Option<u64> {
        (self.state == Quoting::Quoted).then_some(self.opened_on)
    }

    fn watch(&mut self, mut bytes: &[u8]) {
        if !self.started && !bytes.is_empty() {
            // The reader skips a UTF-8 byte-order mark.
            self.started = true;
            bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        }
        for &b in bytes {
            use Quoting::*;
            self.state = match (self.state, b) {
                (FieldStart, b'"') => {
                    self.opened_on = self.line;
                    Quoted
                }
                (FieldStart | Unquoted | QuoteInQuoted, b',' | b'\n' | b'\r') => FieldStart,
                (FieldStart | Unquoted, _) => Unquoted,
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (QuoteInQuoted, _) => Unquoted,
            };
            if b == b'\n' {
                self.line += 1;
            }
        }
    }
}

impl<R: Read> Read for QuoteWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.watch(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_guarded_and_come_back_exactly() {
        for (value, exported) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-20% off", "'-20% off"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=already quoted", "''=already quoted"),
            ("''+twice", "'''+twice"),
            ("'plain", "'plain"),
            ("plain = fine", "plain = fine"),
            ("", ""),
        ] {
            assert_eq!(guard_cell(value), exported);
            assert_eq!(unguard_cell(exported), value);
        }
    }

    fn unclosed(csv: &str) -> Option<u64> {
        let mut w = QuoteWatch::new(csv.as_bytes());
        std::io::copy(&mut w, &mut std::io::sink()).unwrap();
        w.unclosed()
    }

    #[test]
    fn quoting_is_followed_as_the_reader_follows_it() {
        assert_eq!(unclosed("a,b\n1,2\n"), None);
        assert_eq!(unclosed("a,\"b, \"\"c\"\"\"\n\"two\nlines\",x\n"), None);
        assert_eq!(unclosed("a,b\n1,\"2\n3,4\n"), Some(2));
        assert_eq!(unclosed("\u{feff}\"a\",b\n"), None);
        // A quote inside an unquoted field is a plain character.
        assert_eq!(unclosed("a,b\"c\n"), None);
    }
}
