//! What must hold for a whole contacts CSV before any row is applied: UTF-8, something in it,
//! and no quoted field left open (it would swallow every later row). [`FileCheck`] checks a
//! file piece by piece as it arrives, so an import need not hold the file in memory.

/// The UTF-8 byte order mark some spreadsheets write first.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where a quoted field may be: the state of a CSV scanner that only tracks quotes.
#[derive(Debug, Clone, Copy, Default)]
enum Scan {
    #[default]
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// A check fed the file in pieces (split anywhere); [`FileCheck::finish`] gives the verdict.
#[derive(Debug, Default)]
pub struct FileCheck {
    /// The first bytes, held until it is known whether they are a BOM.
    head: Vec<u8>,
    past_head: bool,
    /// Newlines before the current piece, so errors name a line.
    lines: u64,
    /// A UTF-8 sequence cut by the end of the previous piece (at most 3 bytes).
    carry: Vec<u8>,
    quote: Scan,
    /// The line of the quote that opened the current quoted field.
    opened_line: u64,
    /// A character other than whitespace has been seen.
    filled: bool,
    /// The first error; later pieces are ignored.
    failed: Option<String>,
}

impl FileCheck {
    /// Checks the next piece of the file.
    pub fn feed(&mut self, mut piece: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if !self.past_head {
            let take = (BOM.len() - self.head.len()).min(piece.len());
            self.head.extend_from_slice(&piece[..take]);
            piece = &piece[take..];
            if self.head.len() < BOM.len() {
                return;
            }
            self.end_head();
        }
        self.text(piece);
    }

    /// The first bytes are known: a BOM is dropped, anything else is text.
    fn end_head(&mut self) {
        self.past_head = true;
        let head = std::mem::take(&mut self.head);
        if head != BOM {
            self.text(&head);
        }
    }

    fn text(&mut self, piece: &[u8]) {
        let joined;
        let bytes = if self.carry.is_empty() {
            piece
        } else {
            self.carry.extend_from_slice(piece);
            joined = std::mem::take(&mut self.carry);
            &joined[..]
        };
        let valid = match std::str::from_utf8(bytes) {
            Ok(s) => s,
            // Cut in the middle of a character: keep its start for the next piece.
            Err(e) if e.error_len().is_none() => {
                self.carry = bytes[e.valid_up_to()..].to_vec();
                std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("checked prefix")
            }
            Err(e) => {
                let line = self.lines + newlines(&bytes[..e.valid_up_to()]);
                self.failed = Some(format!(
                    "line {} is not valid UTF-8; save the file as CSV UTF-8",
                    line + 1
                ));
                return;
            }
        };
        self.filled |= !valid.trim().is_empty();
        self.quotes(valid.as_bytes());
    }

    fn quotes(&mut self, text: &[u8]) {
        for &b in text {
            self.quote = match (self.quote, b) {
                (Scan::FieldStart, b'"') => {
                    self.opened_line = self.lines;
                    Scan::Quoted
                }
                (Scan::Quoted, b'"') => Scan::QuoteInQuoted,
                (Scan::Quoted, _) => Scan::Quoted,
                // `""` inside quotes is an escaped quote.
                (Scan::QuoteInQuoted, b'"') => Scan::Quoted,
                (_, b',' | b'\n' | b'\r') => Scan::FieldStart,
                _ => Scan::Unquoted,
            };
            self.lines += u64::from(b == b'\n');
        }
    }

    /// The verdict once the whole file was fed: a message saying what is wrong and where.
    pub fn finish(mut self) -> Result<(), String> {
        if !self.past_head {
            self.end_head();
        }
        if let Some(e) = self.failed {
            return Err(e);
        }
        if !self.carry.is_empty() {
            return Err(format!(
                "line {} is not valid UTF-8; save the file as CSV UTF-8",
                self.lines + 1
            ));
        }
        if !self.filled {
            return Err(
                "the file is empty; the first line must be a header such as \
                        `First Name,Last Name,Email,Phone,Tags`"
                    .into(),
            );
        }
        if matches!(self.quote, Scan::Quoted) {
            return Err(format!(
                "line {}: a quoted field is never closed (an unbalanced `\"`); nothing was imported",
                self.opened_line + 1
            ));
        }
        Ok(())
    }
}

/// Checks a whole file held in memory; returns its text without a BOM.
pub fn check_file(data: &[u8]) -> Result<&str, String> {
    let mut check = FileCheck::default();
    check.feed(data);
    check.finish()?;
    let text = data.strip_prefix(BOM).unwrap_or(data);
    Ok(std::str::from_utf8(text).expect("checked as UTF-8"))
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_pieces(data: &[u8], size: usize) -> Result<(), String> {
        let mut check = FileCheck::default();
        data.chunks(size).for_each(|p| check.feed(p));
        check.finish()
    }

    #[test]
    fn a_file_fed_in_pieces_of_any_size_gets_the_verdict_of_the_whole_file() {
        let files: [&[u8]; 8] = [
            "\u{FEFF}Email,First Name\nzoë@x.com,Zoë\n".as_bytes(),
            b"Email,First Name\nok@x.com,\"Quoted, with \"\"escapes\"\"\"\n",
            b"Email,First Name\nok@x.com,Ok\nbad@x.com,\"Unclosed\nmore@x.com,More\n",
            b"Email,Name\nok@x.com,Ok\nbad@x.com,\xff\xfe\n",
            b"Email,Name\nok@x.com,caf\xc3",
            " \u{FEFF}\n\u{2003}\n".as_bytes(),
            b"\xEF\xBB\xBF",
            b"\xEF\xBBEmail\n",
        ];
        for file in files {
            let whole = in_pieces(file, file.len().max(1));
            for size in 1..=5 {
                assert_eq!(in_pieces(file, size), whole, "{file:?} in pieces of {size}");
            }
        }
        assert!(in_pieces(files[0], 1).is_ok());
        assert!(in_pieces(files[1], 1).is_ok());
        assert!(in_pieces(files[2], 2)
            .unwrap_err()
            .starts_with("line 3: a quoted field"));
        assert!(in_pieces(files[3], 3)
            .unwrap_err()
            .starts_with("line 3 is not valid UTF-8"));
        assert!(in_pieces(files[4], 1)
            .unwrap_err()
            .starts_with("line 2 is not valid UTF-8"));
        assert!(in_pieces(files[6], 1)
            .unwrap_err()
            .starts_with("the file is empty"));
        assert!(in_pieces(files[7], 1)
            .unwrap_err()
            .starts_with("line 1 is not valid UTF-8"));
    }
}
