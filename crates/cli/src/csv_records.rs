//! The readings CSV, read: RFC 4180 records of `device,metric,ts_ms,value`, read as bytes one
//! line at a time and never more than a cap of one record, each turned into a [`Reading`] or the
//! reason it is not one. Pure (std and the model only), so the fuzz target
//! (`crates/cli/fuzz`) compiles this very file.
//!
//! Ours rather than `csv::Reader`, which holds a whole record however long, reads a stray quote
//! leniently (`"a"b` as `ab`) and cannot tell a quoted field from an unquoted one (only
//! unquoted ones are trimmed). Its tests (in `history.rs`) check it against the `csv` crate.

use std::collections::VecDeque;
use std::io::{self, BufRead};
use telltale_model::{DeviceId, Quality, Reading};

/// `device,metric,ts_ms,value` on one line, quoted or not. Never panics; says what is wrong.
pub fn parse_line(text: &str) -> Result<Reading, String> {
    reading(split_line(&mut Split::default(), text)?)
}

pub(crate) fn split_line<'a>(split: &'a mut Split, text: &str) -> Result<[&'a [u8]; 4], String> {
    split.start();
    if split.feed_line(text.as_bytes()) {
        return Err("a quoted field is not closed on its line".into());
    }
    split.finish()
}

/// A reading from its fields. Never panics; says what is wrong.
pub(crate) fn reading([device, metric, ts, value]: [&[u8]; 4]) -> Result<Reading, String> {
    let text = |what: &str, field: &[u8]| -> Result<String, String> {
        match std::str::from_utf8(field) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(format!(
                "{what} {} is not UTF-8 (byte {})",
                shown(field),
                e.valid_up_to() + 1
            )),
        }
    };
    let (device, metric) = (text("device", device)?, text("metric", metric)?);
    if device.is_empty() || metric.is_empty() {
        return Err("empty device or metric".into());
    }
    fn number<T: std::str::FromStr>(field: &[u8]) -> Option<T> {
        std::str::from_utf8(field).ok()?.parse().ok()
    }
    let ts_ms: i64 = number(ts).ok_or_else(|| format!("ts_ms {} is not an integer", shown(ts)))?;
    let value: f64 =
        number(value).ok_or_else(|| format!("value {} is not a number", shown(value)))?;
    if !value.is_finite() {
        return Err(format!("value {value} is not a finite number"));
    }
    Ok(Reading {
        device: DeviceId::new(device),
        metric,
        unit: None,
        ts_ms,
        value,
        quality: Quality::Good,
    })
}

/// A field as a message shows it: quoted, escaped, its first 40 bytes at most.
pub(crate) fn shown(field: &[u8]) -> String {
    const SHOWN: usize = 40;
    let text = String::from_utf8_lossy(&field[..field.len().min(SHOWN)]);
    if field.len() > SHOWN {
        format!("{text:?}… ({} bytes)", field.len())
    } else {
        format!("{text:?}")
    }
}

/// The records of a readings CSV, read as bytes a line at a time.
pub(crate) struct Records<R> {
    input: R,
    /// See [`MAX_RECORD`].
    cap: usize,
    /// Lines and bytes read from `input` so far.
    pub(crate) lines: u64,
    pub(crate) bytes: u64,
    /// Lines read ahead and given back, to read again (`None`: one over `cap`).
    replay: VecDeque<(u64, Option<Vec<u8>>)>,
    /// The line last read, with its line break.
    pub(crate) line: Vec<u8>,
    split: Split,
}

impl<R: BufRead> Records<R> {
    pub(crate) fn new(input: R, cap: usize) -> Self {
        Records {
            input,
            cap,
            lines: 0,
            bytes: 0,
            replay: VecDeque::new(),
            line: Vec::new(),
            split: Split::default(),
        }
    }

    /// The next record: the number of the line it starts on, and its four fields or why it has
    /// none. A quoted field may run over several lines; when such a record turns out malformed
    /// (never closed, too long, too many fields…) only its first line is reported and reading
    /// goes on at its second, so a stray quote costs one line rather than the rest of the file.
    #[allow(clippy::type_complexity)]
    pub(crate) fn next_record(&mut self) -> io::Result<Option<(u64, Result<[&[u8]; 4], String>)>> {
        let Some((first, fits)) = self.next_line()? else {
            return Ok(None);
        };
        if !fits {
            let why = format!("longer than {} bytes; skipped", self.cap);
            return Ok(Some((first, Err(why))));
        }
        self.split.start();
        let mut open = self.split.feed_line(&self.line);
        let mut size = self.line.len();
        let mut held = Vec::new();
        let mut unclosed = None;
        while open {
            let Some((number, fits)) = self.next_line()? else {
                unclosed = Some("a quoted field is not closed by the end of the file".to_owned());
                break;
            };
            size += self.line.len();
            held.push((number, fits.then(|| self.line.clone())));
            if !fits || size > self.cap {
                unclosed = Some(format!(
                    "a quoted field is not closed within {} bytes",
                    self.cap
                ));
                break;
            }
            open = self.split.feed_line(&self.line);
        }
        let fields = match unclosed {
            Some(why) => Err(why),
            None => self.split.finish(),
        };
        if fields.is_err() {
            for line in held.into_iter().rev() {
                self.replay.push_front(line);
            }
        }
        Ok(Some((first, fields)))
    }

    /// Reads the next line into `self.line`, with its break; says its number and whether it
    /// fits in `cap` (one that does not is read to its end, and `self.line` left empty).
    fn next_line(&mut self) -> io::Result<Option<(u64, bool)>> {
        if let Some((number, line)) = self.replay.pop_front() {
            let fits = line.is_some();
            self.line = line.unwrap_or_default();
            return Ok(Some((number, fits)));
        }
        self.line.clear();
        let (mut fits, mut any) = (true, false);
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let at = format!("line {}: {e}", self.lines + 1);
                    return Err(io::Error::new(e.kind(), at));
                }
            };
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, ends) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if fits && self.line.len() + take <= self.cap {
                self.line.extend_from_slice(&chunk[..take]);
            } else {
                fits = false;
                self.line.clear();
            }
            self.input.consume(take);
            self.bytes += take as u64;
            if ends {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.lines += 1;
        if self.lines == 1 && self.line.starts_with("\u{feff}".as_bytes()) {
            self.line.drain(..3);
        }
        Ok(Some((self.lines, fits)))
    }
}

/// Splits one record into fields as RFC 4180 says, fed a line at a time; lenient only about
/// white space around a field, strict about quotes.
#[derive(Default)]
pub(crate) struct Split {
    /// The fields' bytes, one after the other, and where each finished one ends.
    bytes: Vec<u8>,
    ends: Vec<usize>,
    state: SplitState,
    error: Option<&'static str>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum SplitState {
    #[default]
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` in a quoted field: its end, or the first of a doubled quote.
    QuoteInQuoted,
    /// White space after a quoted field.
    AfterQuoted,
}

impl Split {
    fn start(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.state = SplitState::FieldStart;
        self.error = None;
    }

    /// Feeds one line, with its break if it has one. True when the line ends inside a quoted
    /// field: the field then holds the break and goes on on the next line.
    fn feed_line(&mut self, line: &[u8]) -> bool {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        // Most lines are a whole record with no quote in it: split those at their commas at
        // once, trimmed as the byte-by-byte reading below trims them (it leaves a last field's
        // trailing white space to `finish`). A bulk import spends most of its parsing here.
        if self.state == SplitState::FieldStart
            && self.ends.is_empty()
            && self.error.is_none()
            && !text.contains(&b'"')
        {
            let mut fields = text.split(|&b| b == b',').peekable();
            while let Some(field) = fields.next() {
                if fields.peek().is_some() {
                    self.bytes.extend_from_slice(field.trim_ascii());
                    self.ends.push(self.bytes.len());
                } else {
                    let field = field.trim_ascii_start();
                    self.bytes.extend_from_slice(field);
                    if !field.is_empty() {
                        self.state = SplitState::Unquoted;
                    }
                }
            }
            return false;
        }
        for &b in text {
            if self.error.is_some() {
                return false;
            }
            self.byte(b);
        }
        if self.error.is_none() && self.state == SplitState::Quoted {
            self.bytes.extend_from_slice(&line[text.len()..]);
            return true;
        }
        false
    }

    fn byte(&mut self, b: u8) {
        use SplitState::*;
        match (self.state, b) {
            (FieldStart, b'"') => self.state = Quoted,
            (FieldStart | Unquoted | QuoteInQuoted | AfterQuoted, b',') => self.end_field(),
            (FieldStart, b) if b.is_ascii_whitespace() => {}
            (Unquoted, b'"') => {
                self.error = Some(
                    "a quote inside an unquoted field (quote the whole field, doubling its quotes)",
                )
            }
            (FieldStart | Unquoted, b) => {
                self.bytes.push(b);
                self.state = Unquoted;
            }
            (Quoted, b'"') => self.state = QuoteInQuoted,
            (Quoted, b) => self.bytes.push(b),
            (QuoteInQuoted, b'"') => {
                self.bytes.push(b'"');
                self.state = Quoted;
            }
            (QuoteInQuoted | AfterQuoted, b) if b.is_ascii_whitespace() => self.state = AfterQuoted,
            (QuoteInQuoted | AfterQuoted, _) => {
                self.error = Some("text after the closing quote of a field")
            }
        }
    }

    fn end_field(&mut self) {
        if self.state == SplitState::Unquoted {
            let start = self.ends.last().copied().unwrap_or(0);
            while self.bytes.len() > start && self.bytes.last().is_some_and(u8::is_ascii_whitespace)
            {
                self.bytes.pop();
            }
        }
        self.ends.push(self.bytes.len());
        self.state = SplitState::FieldStart;
    }

    /// The record's fields, once its last line is fed.
    fn finish(&mut self) -> Result<[&[u8]; 4], String> {
        if let Some(why) = self.error {
            return Err(why.into());
        }
        if self.state == SplitState::Quoted {
            return Err("a quoted field is not closed".into());
        }
        self.end_field();
        let [a, b, c, d] = self.ends[..] else {
            return Err(format!(
                "wrong field count ({}, expected 4)",
                self.ends.len()
            ));
        };
        let f = &self.bytes;
        Ok([&f[..a], &f[a..b], &f[b..c], &f[c..d]])
    }
}
