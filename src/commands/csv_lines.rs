//! The line a CSV record starts on, exactly, whatever its line endings.
//!
//! The csv crate's record positions lag by one line in CRLF files (a record ends at the
//! `\r`, and the `\n` is counted while reading the next one) and after blank lines. This
//! reader notes where every `\n` is, so a record's first line can be counted back from
//! where it ended.

use std::collections::VecDeque;
use std::io::Read;

/// Wraps the bytes a `csv::Reader` reads and remembers where their newlines are.
pub struct LineIndex<R> {
    inner: R,
    read: u64,
    /// Newlines before the end of the last record: later records need only their count.
    settled_count: u64,
    /// Offsets of the newlines after that.
    newlines: VecDeque<u64>,
}

impl<R: Read> LineIndex<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            read: 0,
            settled_count: 0,
            newlines: VecDeque::new(),
        }
    }

    /// The 1-based line a record starts on, given the byte offset right after it (the
    /// reader's position once it has read the record) and the record itself.
    pub fn start_line(&mut self, end: u64, record: &csv::StringRecord) -> u64 {
        let before_end =
            self.settled_count + self.newlines.iter().take_while(|&&nl| nl < end).count() as u64;
        let ends_with_newline = end > 0 && self.newlines.contains(&(end - 1));
        let inside: u64 = record
            .iter()
            .map(|field| field.bytes().filter(|&b| b == b'\n').count() as u64)
            .sum();
        // Everything up to `end` is settled for the records after this one.
        let settled_now = self.newlines.iter().take_while(|&&nl| nl < end).count();
        self.settled_count += settled_now as u64;
        self.newlines.drain(..settled_now);
        (1 + before_end)
            .saturating_sub(u64::from(ends_with_newline))
            .saturating_sub(inside)
            .max(1)
    }
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                self.newlines.push_back(self.read + i as u64);
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str) -> Vec<(u64, String)> {
        let mut reader = csv::Reader::from_reader(LineIndex::new(text.as_bytes()));
        let mut record = csv::StringRecord::new();
        let mut out = Vec::new();
        while reader.read_record(&mut record).unwrap_or(false) {
            let end = reader.position().byte();
            let line = reader.get_mut().start_line(end, &record);
            out.push((line, record.get(0).unwrap_or_default().to_owned()));
        }
        out
    }

    #[test]
    fn lines_are_exact_for_every_line_ending() {
        let want = vec![
            (2, "a".to_owned()),
            (3, "b".to_owned()),
            (4, "c".to_owned()),
        ];
        assert_eq!(lines_of("x,y\na,1\nb,2\nc,3\n"), want);
        assert_eq!(lines_of("x,y\r\na,1\r\nb,2\r\nc,3\r\n"), want);
        assert_eq!(
            lines_of("x,y\na,1\nb,2\nc,3"),
            want,
            "no newline at the end"
        );
        assert_eq!(lines_of("x,y\r\na,1\r\nb,2\r\nc,3"), want);
    }

    #[test]
    fn blank_lines_and_multi_line_fields_are_counted() {
        assert_eq!(
            lines_of("x,y\na,1\n\n\nb,2\n\"c\nc\",3\nd,4\n"),
            vec![
                (2, "a".to_owned()),
                (5, "b".to_owned()),
                (6, "c\nc".to_owned()),
                (8, "d".to_owned())
            ]
        );
        assert_eq!(
            lines_of("x,y\r\na,1\r\n\r\n\"b\r\nb\",2\r\nc,3\r\n"),
            vec![
                (2, "a".to_owned()),
                (4, "b\r\nb".to_owned()),
                (6, "c".to_owned())
            ]
        );
    }
}
