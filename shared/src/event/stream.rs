//! Splitting input files into records, one at a time.
//!
//! Accepted, auto-detected: one JSON event or record; several, concatenated or one per line
//! (JSON Lines); a JSON array of them; a CloudTrail log file as delivered to S3
//! (`{"Records":[…]}`); each of these gzipped (detected by its magic bytes, not its name).
//! A CloudTrail log file holds thousands of records, so elements are cut out of the byte stream
//! as they arrive, and only one record is held in memory at a time. A UTF-8 byte-order mark at
//! the start is skipped.
//!
//! **Damaged input.** One bad record does not end the reading; each is one error (with its byte
//! offset), and reading resumes where the format lets it:
//! - JSON Lines and concatenated values: at the next line that starts with `{` or `[` (records
//!   start at the beginning of a line). Fully recoverable.
//! - an array, or a log file's `Records` list: a record that is whole JSON but not UTF-8 is
//!   skipped by itself; damage inside a record's JSON resumes at the next element that starts
//!   like a CloudTrail record (`{"eventVersion"…`) or an EventBridge event (`{"version"…`), every
//!   byte between being that one bad record. Elements of another shape after the damage are
//!   not recovered.
//! - gzip: a corrupt compressed stream cannot be read past the corruption; it ends the input.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// A problem reading or splitting an input.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The file could not be read.
    #[error("{source}")]
    Io {
        /// The I/O error.
        #[from]
        source: io::Error,
    },
    /// The bytes are not a sequence of JSON values.
    #[error("byte {offset}: {message}")]
    Syntax {
        /// Byte offset in the (decompressed) input.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A record that is whole JSON but not valid UTF-8 (reading goes on after it).
    #[error("byte {offset}: the record is not valid UTF-8")]
    Encoding {
        /// Byte offset of the record's end in the (decompressed) input.
        offset: u64,
    },
}

/// Where input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// `-` is standard input, anything else a path.
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            Self::Stdin
        } else {
            Self::File(PathBuf::from(arg))
        }
    }

    /// A name for messages.
    pub fn name(&self) -> String {
        match self {
            Self::Stdin => "<stdin>".to_owned(),
            Self::File(p) => p.display().to_string(),
        }
    }

    /// Opens the input, decompressing gzip transparently.
    pub fn open(&self) -> io::Result<RecordReader<Box<dyn Read>>> {
        let raw: Box<dyn Read> = match self {
            Self::Stdin => Box::new(io::stdin().lock()),
            Self::File(p) => Box::new(open_file(p)?),
        };
        RecordReader::new(raw)
    }
}

fn open_file(path: &Path) -> io::Result<File> {
    File::open(path)
}

const CHUNK: usize = 64 * 1024;

/// Yields the JSON text of each record in a stream.
pub struct RecordReader<R> {
    inner: R,
    chunk: Vec<u8>,
    pos: usize,
    len: usize,
    offset: u64,
    /// Inside a `Records` or top-level array: more elements may follow.
    in_array: bool,
    /// The array was a CloudTrail `Records` member: the wrapping object must be closed after it.
    in_records_object: bool,
    /// An element was just read: a `,` or `]` must come next.
    need_separator: bool,
    /// The start of a record found by resynchronising inside an array (`{` and its first key).
    resumed: Option<Vec<u8>>,
    /// Bytes already consumed that must be read again (after a damaged line of JSON Lines, the
    /// lines it swallowed), and how far they have been.
    replay: Vec<u8>,
    replay_pos: usize,
    done: bool,
}

impl RecordReader<Box<dyn Read>> {
    /// Wraps a reader, detecting gzip by its magic bytes.
    pub fn new(mut raw: Box<dyn Read>) -> io::Result<Self> {
        let mut head = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match raw.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let prefix = io::Cursor::new(head[..got].to_vec());
        let chained: Box<dyn Read> = Box::new(prefix.chain(raw));
        let inner: Box<dyn Read> = if got == 2 && head == [0x1f, 0x8b] {
            Box::new(BufReader::with_capacity(CHUNK, MultiGzDecoder::new(chained)))
        } else {
            chained
        };
        Ok(Self::from_plain(inner))
    }
}

impl<R: Read> RecordReader<R> {
    /// Wraps an uncompressed reader.
    pub fn from_plain(inner: R) -> Self {
        Self {
            inner,
            chunk: vec![0; CHUNK],
            pos: 0,
            len: 0,
            offset: 0,
            in_array: false,
            in_records_object: false,
            need_separator: false,
            resumed: None,
            replay: Vec::new(),
            replay_pos: 0,
            done: false,
        }
    }

    fn replaying(&self) -> bool {
        self.replay_pos < self.replay.len()
    }

    fn syntax(&self, message: impl Into<String>) -> StreamError {
        StreamError::Syntax {
            offset: self.offset,
            message: message.into(),
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, StreamError> {
        if self.replaying() {
            return Ok(Some(self.replay[self.replay_pos]));
        }
        if self.pos == self.len {
            self.len = loop {
                match self.inner.read(&mut self.chunk) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            };
            self.pos = 0;
            if self.len == 0 {
                return Ok(None);
            }
        }
        Ok(Some(self.chunk[self.pos]))
    }

    fn bump(&mut self) {
        if self.replaying() {
            self.replay_pos += 1;
        } else {
            self.pos += 1;
        }
        self.offset += 1;
    }

    fn skip_ws(&mut self) -> Result<Option<u8>, StreamError> {
        while let Some(b) = self.peek()? {
            if !b.is_ascii_whitespace() {
                return Ok(Some(b));
            }
            self.bump();
        }
        Ok(None)
    }

    fn expect(&mut self, want: u8) -> Result<(), StreamError> {
        match self.skip_ws()? {
            Some(b) if b == want => {
                self.bump();
                Ok(())
            }
            Some(b) => Err(self.syntax(format!("expected '{}', found '{}'", want as char, b as char))),
            None => Err(self.syntax(format!("expected '{}', found the end of the input", want as char))),
        }
    }

    /// Appends one complete JSON string (starting at its opening quote) to `out`.
    fn string_into(&mut self, out: &mut Vec<u8>) -> Result<(), StreamError> {
        self.bump();
        out.push(b'"');
        while self.replaying() {
            // Byte by byte through replayed bytes (rare: only after damage).
            let b = self.replay[self.replay_pos];
            if b < 0x20 {
                return Err(self.syntax("a control character inside a string"));
            }
            out.push(b);
            self.bump();
            match b {
                b'"' => return Ok(()),
                b'\\' => match self.peek()? {
                    Some(escaped) => {
                        out.push(escaped);
                        self.bump();
                    }
                    None => return Err(self.syntax("unterminated string")),
                },
                _ => {}
            }
        }
        loop {
            // Copy runs of ordinary bytes in bulk; strings dominate CloudTrail records.
            let start = self.pos;
            let end = self.len;
            // A raw control character cannot be in a JSON string: it is where a damaged record
            // ran into the next line.
            let run = self.chunk[start..end]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            match run {
                Some(i) => {
                    out.extend_from_slice(&self.chunk[start..start + i]);
                    self.pos += i;
                    self.offset += i as u64;
                    let b = self.chunk[self.pos];
                    if b < 0x20 {
                        return Err(self.syntax("a control character inside a string"));
                    }
                    out.push(b);
                    self.bump();
                    if b == b'"' {
                        return Ok(());
                    }
                    match self.peek()? {
                        Some(escaped) => {
                            out.push(escaped);
                            self.bump();
                        }
                        None => return Err(self.syntax("unterminated string")),
                    }
                }
                None => {
                    out.extend_from_slice(&self.chunk[start..end]);
                    self.offset += (end - start) as u64;
                    self.pos = end;
                    if self.peek()?.is_none() {
                        return Err(self.syntax("unterminated string"));
                    }
                }
            }
        }
    }

    /// Appends one complete JSON value to `out`.
    fn value_into(&mut self, out: &mut Vec<u8>) -> Result<(), StreamError> {
        let Some(first) = self.skip_ws()? else {
            return Err(self.syntax("expected a value, found the end of the input"));
        };
        match first {
            b'"' => self.string_into(out),
            b'{' | b'[' => self.nested_into(out, Vec::new()),
            _ => {
                let start = out.len();
                while let Some(b) = self.peek()? {
                    if b.is_ascii_whitespace() || matches!(b, b',' | b']' | b'}' | b'{' | b'[') {
                        break;
                    }
                    out.push(b);
                    self.bump();
                }
                if out.len() == start {
                    return Err(self.syntax(format!("expected a value, found '{}'", first as char)));
                }
                Ok(())
            }
        }
    }

    /// After an array element: `,` (more follow: `true`) or `]` (the array ends: `false`).
    fn after_element(&mut self) -> Result<bool, StreamError> {
        match self.skip_ws()? {
            Some(b',') => {
                self.bump();
                Ok(true)
            }
            Some(b']') => {
                self.bump();
                self.in_array = false;
                if self.in_records_object {
                    self.in_records_object = false;
                    self.finish_object()?;
                }
                Ok(false)
            }
            Some(b) => Err(self.syntax(format!("expected ',' or ']' between records, found '{}'", b as char))),
            None => Err(self.syntax("unexpected end of the input inside the list of records")),
        }
    }

    /// Skips the members that follow `Records` in a log file object, up to its `}`.
    fn finish_object(&mut self) -> Result<(), StreamError> {
        let mut scratch = Vec::new();
        loop {
            match self.skip_ws()? {
                Some(b'}') => {
                    self.bump();
                    return Ok(());
                }
                Some(b',') => {
                    self.bump();
                    scratch.clear();
                    self.value_into(&mut scratch)?;
                    self.expect(b':')?;
                    scratch.clear();
                    self.value_into(&mut scratch)?;
                }
                Some(b) => return Err(self.syntax(format!("expected ',' or '}}', found '{}'", b as char))),
                None => return Err(self.syntax("unexpected end of the input in the log file object")),
            }
        }
    }

    /// Skips a UTF-8 byte-order mark at the start of the input.
    fn skip_bom(&mut self) -> Result<(), StreamError> {
        if self.offset != 0 || self.peek()? != Some(0xEF) {
            return Ok(());
        }
        for want in [0xEF, 0xBB, 0xBF] {
            if self.peek()? != Some(want) {
                return Err(self.syntax("a byte-order mark cut short"));
            }
            self.bump();
        }
        Ok(())
    }

    /// The next record's JSON text, or `None` at the end of the input. After a syntax error the
    /// bytes the damaged record consumed are read again when resynchronising.
    pub fn next_record(&mut self) -> Result<Option<String>, StreamError> {
        // `out` holds every byte the record consumed, from its first.
        let mut out = Vec::with_capacity(2048);
        let read = self.read_record(&mut out);
        if matches!(read, Err(StreamError::Syntax { .. })) && out.len() > 1 {
            // Everything after the damaged record's first byte is read again: the damage may
            // have swallowed the records that follow.
            let start = self.offset - out.len() as u64;
            let mut replay = out.split_off(1);
            replay.extend_from_slice(&self.replay[self.replay_pos..]);
            self.replay = replay;
            self.replay_pos = 0;
            self.offset = start + 1;
        }
        read
    }

    fn read_record(&mut self, out: &mut Vec<u8>) -> Result<Option<String>, StreamError> {
        self.skip_bom()?;
        if let Some(prefix) = self.resumed.take() {
            // Resynchronised inside an array: the record's `{` and first key are read.
            *out = prefix;
            self.object_tail_into(out)?;
            self.need_separator = true;
            return self.finish(std::mem::take(out)).map(Some);
        }
        loop {
            if self.done {
                return Ok(None);
            }
            if self.in_array {
                if self.need_separator {
                    // Checked before the next element rather than after the previous one, so a
                    // good record is returned before the error that follows it.
                    self.need_separator = false;
                    if !self.after_element()? {
                        continue;
                    }
                    if self.skip_ws()? == Some(b']') {
                        return Err(self.syntax("expected a record after ',', found ']'"));
                    }
                } else if self.skip_ws()? == Some(b']') {
                    // An empty array.
                    self.after_element()?;
                    continue;
                }
                self.value_into(out)?;
                self.need_separator = true;
                return self.finish(std::mem::take(out)).map(Some);
            }
            match self.skip_ws()? {
                None => {
                    self.done = true;
                    return Ok(None);
                }
                Some(b'[') => {
                    self.bump();
                    self.in_array = true;
                }
                Some(b'{') => {
                    // A log file starts `{"Records":[`: stream its elements. Any other object
                    // is one record, read whole.
                    self.bump();
                    out.push(b'{');
                    while let Some(b) = self.peek()?.filter(u8::is_ascii_whitespace) {
                        out.push(b);
                        self.bump();
                    }
                    if self.peek()? == Some(b'"') {
                        let key_start = out.len();
                        self.string_into(out)?;
                        if &out[key_start..] == b"\"Records\"" {
                            self.expect(b':')?;
                            self.expect(b'[')?;
                            self.in_array = true;
                            self.in_records_object = true;
                            out.clear();
                            continue;
                        }
                    }
                    // Read the rest of the object with the depth already at one.
                    self.object_tail_into(out)?;
                    return self.finish(std::mem::take(out)).map(Some);
                }
                Some(b) => return Err(self.syntax(format!("expected a JSON object or array, found '{}'", b as char))),
            }
        }
    }

    /// Appends the remainder of an object whose `{` (and perhaps first key) was consumed.
    fn object_tail_into(&mut self, out: &mut Vec<u8>) -> Result<(), StreamError> {
        self.nested_into(out, vec![b'}'])
    }

    /// Appends an object or array up to its matching close; `open` holds the closers already
    /// owed (empty when the opening bracket is still ahead). Closers must match their openers.
    fn nested_into(&mut self, out: &mut Vec<u8>, mut open: Vec<u8>) -> Result<(), StreamError> {
        loop {
            let Some(b) = self.peek()? else {
                return Err(self.syntax("unexpected end of the input inside an object or array"));
            };
            match b {
                b'"' => {
                    self.string_into(out)?;
                    continue;
                }
                b'{' => open.push(b'}'),
                b'[' => open.push(b']'),
                b'}' | b']' if open.pop() != Some(b) => {
                    return Err(self.syntax(format!("unexpected '{}'", b as char)));
                }
                _ => {}
            }
            out.push(b);
            self.bump();
            if open.is_empty() {
                return Ok(());
            }
        }
    }

    fn finish(&self, out: Vec<u8>) -> Result<String, StreamError> {
        String::from_utf8(out).map_err(|_| StreamError::Encoding { offset: self.offset })
    }

    /// After a syntax error, moves to where the next record can start (see the module
    /// documentation); `false` when the input ends first.
    fn resync(&mut self) -> Result<bool, StreamError> {
        self.need_separator = false;
        if self.in_array {
            return self.resync_in_array();
        }
        loop {
            // To the start of the next line, then a line that starts a value.
            while let Some(b) = self.peek()? {
                self.bump();
                if b == b'\n' {
                    break;
                }
            }
            match self.peek()? {
                None => return Ok(false),
                Some(b'{' | b'[') => return Ok(true),
                Some(_) => {}
            }
        }
    }

    /// Inside an array: to the next `{` that opens a CloudTrail record or an EventBridge event.
    fn resync_in_array(&mut self) -> Result<bool, StreamError> {
        loop {
            match self.peek()? {
                None => return Ok(false),
                Some(b'{') => {
                    self.bump();
                    if self.skip_ws()? != Some(b'"') {
                        continue;
                    }
                    let mut key = Vec::new();
                    self.string_into(&mut key)?;
                    if key == b"\"eventVersion\"" || key == b"\"version\"" {
                        let mut prefix = b"{".to_vec();
                        prefix.extend_from_slice(&key);
                        self.resumed = Some(prefix);
                        return Ok(true);
                    }
                }
                Some(_) => self.bump(),
            }
        }
    }
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<String, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            // The record was read whole: the next one follows as usual.
            Err(e @ StreamError::Encoding { .. }) => Some(Err(e)),
            Err(e @ StreamError::Syntax { .. }) => {
                // Resume at the next record boundary the format allows, if any.
                match self.resync() {
                    Ok(true) => {}
                    Ok(false) | Err(_) => self.done = true,
                }
                Some(Err(e))
            }
            Err(e @ StreamError::Io { .. }) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn records(input: &[u8]) -> Vec<Result<String, String>> {
        let reader = RecordReader::new(Box::new(io::Cursor::new(input.to_vec()))).unwrap();
        reader.map(|r| r.map_err(|e| e.to_string())).collect()
    }

    fn ok(input: &[u8]) -> Vec<String> {
        records(input).into_iter().map(Result::unwrap).collect()
    }

    #[test]
    fn single_objects_arrays_and_json_lines() {
        assert_eq!(ok(br#"{"a":1}"#), vec![r#"{"a":1}"#]);
        assert_eq!(ok(b"{\"a\":1}\n{\"b\":\"}\"}\n"), vec![r#"{"a":1}"#, r#"{"b":"}"}"#]);
        assert_eq!(
            ok(br#"[{"a":1}, {"b":[1,{"c":"]"}]}]"#),
            vec![r#"{"a":1}"#, r#"{"b":[1,{"c":"]"}]}"#]
        );
        assert_eq!(ok(b"  \n "), Vec::<String>::new());
        assert_eq!(ok(b"[]"), Vec::<String>::new());
    }

    #[test]
    fn cloudtrail_log_files_are_streamed_record_by_record() {
        let input = br#"{"Records":[{"eventID":"1","x":"a\"b"},{"eventID":"2"}], "Digest": {"k": [1]}}"#;
        assert_eq!(ok(input), vec![r#"{"eventID":"1","x":"a\"b"}"#, r#"{"eventID":"2"}"#]);
        assert_eq!(ok(br#"{"Records":[]}"#), Vec::<String>::new());
        // Another key first: the object is one record.
        assert_eq!(
            ok(br#"{"version":"0","Records":[1]}"#),
            vec![r#"{"version":"0","Records":[1]}"#]
        );
    }

    #[test]
    fn gzip_is_detected_by_magic_bytes() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(br#"{"Records":[{"eventID":"1"},{"eventID":"2"}]}"#)
            .unwrap();
        assert_eq!(ok(&gz.finish().unwrap()).len(), 2);
    }

    #[test]
    fn truncated_and_garbled_input_is_an_error_with_an_offset() {
        let r = records(br#"{"Records":[{"eventID":"1"},{"eventID":"#);
        assert_eq!(r.len(), 2);
        assert!(r[1].as_ref().unwrap_err().contains("byte"), "{r:?}");
        let r = records(b"nonsense");
        assert!(r[0].is_err());
        let r = records(br#"{"Records":[{"a":1} {"b":2}]}"#);
        assert!(r[1].as_ref().unwrap_err().contains("expected ',' or ']'"), "{r:?}");
        let r = records(br#"[{"a":1},]"#);
        assert!(r[1].as_ref().unwrap_err().contains("after ','"), "{r:?}");
        let r = records(br#"[,]"#);
        assert!(r[0].is_err(), "{r:?}");
        let r = records(br#"[{"a":[1}]"#);
        assert!(r[0].as_ref().unwrap_err().contains("unexpected '}'"), "{r:?}");
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        assert_eq!(ok(b"\xEF\xBB\xBF{\"a\":1}\n"), vec![r#"{"a":1}"#]);
        let r = records(b"\xEF\xBB{\"a\":1}");
        assert!(r[0].is_err(), "{r:?}");
    }

    #[test]
    fn one_bad_line_of_json_lines_does_not_stop_the_rest() {
        let input = b"{\"a\":1}\n{\"b\":\n\x00\n{\"c\":\"\xff\"}\n{\"d\":4}\n";
        let r = records(input);
        let good: Vec<&String> = r.iter().filter_map(|x| x.as_ref().ok()).collect();
        assert_eq!(good, [r#"{"a":1}"#, r#"{"d":4}"#], "{r:?}");
        // The cut record swallowed the NUL line: one error for both; then the bad UTF-8 record.
        assert_eq!(r.iter().filter(|x| x.is_err()).count(), 2, "{r:?}");
        assert!(r[2].as_ref().unwrap_err().contains("not valid UTF-8"), "{r:?}");
    }

    #[test]
    fn damage_in_a_records_list_resumes_at_the_next_record() {
        let input =
            br#"{"Records":[{"eventVersion":"1","a":1},{"eventVersion":"1","b":[},{"eventVersion":"1","c":3}]}"#;
        let r = records(input);
        let good: Vec<&String> = r.iter().filter_map(|x| x.as_ref().ok()).collect();
        assert_eq!(
            good,
            [r#"{"eventVersion":"1","a":1}"#, r#"{"eventVersion":"1","c":3}"#],
            "{r:?}"
        );
    }

    /// Records `{"eventVersion":"1","n":<i>,"s":"<text>"}`.
    fn record(i: usize, text: &str) -> String {
        format!(
            r#"{{"eventVersion":"1","n":{i},"s":{}}}"#,
            serde_json::Value::from(text)
        )
    }

    proptest::proptest! {
        // Whatever damage one record of JSON Lines takes, every other record is read, intact.
        #[test]
        fn json_lines_recover_every_other_record(
            texts in proptest::collection::vec("[a-z{}\\[\\]:,\"]{0,12}", 2..8),
            bad in 0usize..8,
            damage in 0usize..4,
            cut in 1usize..30,
        ) {
            let bad = bad % texts.len();
            let lines: Vec<String> = texts.iter().enumerate().map(|(i, t)| record(i, t)).collect();
            let mut input = Vec::new();
            for (i, line) in lines.iter().enumerate() {
                if i == bad {
                    let bytes = line.as_bytes();
                    match damage {
                        0 => input.extend_from_slice(&bytes[..cut.min(bytes.len() - 1)]),
                        1 => input.extend_from_slice(b"\x00"),
                        2 => { input.extend_from_slice(&bytes[..bytes.len() - 1]); input.extend_from_slice(b"\xff}"); }
                        _ => input.extend_from_slice(b"]]"),
                    }
                } else {
                    input.extend_from_slice(line.as_bytes());
                }
                input.push(b'\n');
            }
            let read: Vec<String> = records(&input).into_iter().filter_map(Result::ok).collect();
            let expected: Vec<String> = lines.iter().enumerate().filter(|(i, _)| *i != bad).map(|(_, l)| l.clone()).collect();
            proptest::prop_assert_eq!(read, expected);
        }

        // In a `Records` list, a record cut anywhere loses only itself.
        #[test]
        fn records_lists_recover_after_a_cut_record(
            count in 2usize..8,
            bad in 0usize..8,
            cut in 1usize..30,
        ) {
            let bad = bad % count;
            let items: Vec<String> = (0..count).map(|i| record(i, "x")).collect();
            let mut parts = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if i == bad {
                    parts.push(item[..cut.min(item.len() - 1)].to_owned());
                } else {
                    parts.push(item.clone());
                }
            }
            let input = format!(r#"{{"Records":[{}]}}"#, parts.join(","));
            let read: Vec<String> = records(input.as_bytes()).into_iter().filter_map(Result::ok).collect();
            let expected: Vec<String> = items.iter().enumerate().filter(|(i, _)| *i != bad).map(|(_, l)| l.clone()).collect();
            proptest::prop_assert_eq!(read, expected, "{}", input);
        }
    }
}
