//! `StreamFramer`: cuts messages out of a TCP (or TLS) byte stream, sans-io. Bytes go in with
//! [`StreamFramer::push`]; [`StreamFramer::next_frame`] hands out one complete message at a
//! time — the header section up to its empty line plus exactly Content-Length body bytes
//! (RFC 3261 §18.3) — ready for [`Message::parse`](super::Message::parse), or a keep-alive.
//!
//! CRLFs between messages are skipped; a double CRLF is an RFC 5626 ping, reported as
//! [`Frame::KeepAlive`] (answer with a single CRLF). A stream message without Content-Length,
//! with an invalid one, or with disagreeing ones cannot be framed, and a header section or
//! message over [`MAX_MESSAGE_SIZE`] is refused: after such an error the stream is unusable
//! and the connection must be closed (the error's `status()` says whether to answer first;
//! [`StreamFramer::buffered`] holds the bytes for [`reject`](super::reject)). The search for
//! the end of a header section resumes where it stopped, so input trickling in a byte at a
//! time costs linear time.

use super::error::{Defect, ParseError};
use super::headers::canonical;
use super::headers::parse_content_length;
use super::parse::{line_at, scan_head, start_line, StartLine};
use super::MAX_MESSAGE_SIZE;

/// What [`StreamFramer::next_frame`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The bytes of exactly one message.
    Message(Vec<u8>),
    /// A CRLFCRLF keep-alive ping.
    KeepAlive,
}

/// The framing state of one stream connection.
#[derive(Clone, Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    /// Where the unconsumed bytes start.
    start: usize,
    /// How far the search for the end of the current header section got.
    scanned: usize,
    /// The length of the current message once its header section is complete, so a body
    /// trickling in does not make the header section be read again for every byte.
    pending: Option<usize>,
}

impl StreamFramer {
    /// An empty framer.
    pub fn new() -> StreamFramer {
        StreamFramer::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.scanned -= self.start.min(self.scanned);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The bytes received but not yet handed out.
    pub fn buffered(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or(&[])
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or an error after which
    /// the connection must be closed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        loop {
            let data = self.buffered();
            match data {
                [b'\r', b'\n', b'\r', b'\n', ..] => {
                    self.consume(4);
                    return Ok(Some(Frame::KeepAlive));
                }
                [b'\r'] | [b'\r', b'\n'] | [b'\r', b'\n', b'\r'] => return Ok(None),
                [b'\r', b'\n', ..] => self.consume(2),
                [b'\n', ..] => self.consume(1),
                _ => break,
            }
        }
        if self.buffered().is_empty() {
            return Ok(None);
        }
        let total = match self.pending {
            Some(total) => total,
            None => match self.message_len()? {
                Some(total) => total,
                None => return Ok(None),
            },
        };
        self.pending = Some(total);
        let Some(message) = self.buffered().get(..total) else {
            return Ok(None);
        };
        let message = message.to_vec();
        self.consume(total);
        Ok(Some(Frame::Message(message)))
    }

    /// The length of the message at the start of the unconsumed bytes, once its header
    /// section is complete.
    fn message_len(&mut self) -> Result<Option<usize>, ParseError> {
        let Some(head_len) = self.find_head_end() else {
            let len = self.buffered().len();
            if len > MAX_MESSAGE_SIZE {
                return Err(ParseError::TooLarge {
                    len,
                    limit: MAX_MESSAGE_SIZE,
                });
            }
            return Ok(None);
        };
        let data = self.buffered();
        let head = data.get(..head_len).unwrap_or(&[]);
        let body_len = content_length(head)?;
        let total = head_len.saturating_add(body_len);
        if total > MAX_MESSAGE_SIZE {
            return Err(ParseError::TooLarge {
                len: total,
                limit: MAX_MESSAGE_SIZE,
            });
        }
        Ok(Some(total))
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buf.len());
        self.scanned = self.start;
        self.pending = None;
    }

    /// The length of the header section (through its empty line) at the start of the
    /// unconsumed bytes, if complete.
    fn find_head_end(&mut self) -> Option<usize> {
        let from = self.scanned.saturating_sub(2).max(self.start);
        let window = self.buf.get(from..).unwrap_or(&[]);
        for (i, b) in window.iter().enumerate() {
            if *b != b'\n' {
                continue;
            }
            let after = window.get(i + 1..).unwrap_or(&[]);
            let end = match after {
                [b'\n', ..] => Some(i + 2),
                [b'\r', b'\n', ..] => Some(i + 3),
                _ => None,
            };
            if let Some(end) = end {
                return Some(from + end - self.start);
            }
        }
        self.scanned = self.buf.len();
        None
    }
}

/// The Content-Length of a complete header section; errors carry the message's side.
fn content_length(head: &[u8]) -> Result<usize, ParseError> {
    let (first, rest_at, _) = line_at(head, 0);
    let side: fn(Defect) -> ParseError = match start_line(first)? {
        StartLine::Request(_) => ParseError::Request,
        StartLine::Response(_) => ParseError::Response,
    };
    let fields = scan_head(head, rest_at).fields;
    let mut found: Option<usize> = None;
    for field in fields {
        if canonical(field.name).0 != "Content-Length" {
            continue;
        }
        let len = parse_content_length(&field.value).ok_or(side(Defect::Syntax {
            what: "Content-Length",
            reason: "not a non-negative number",
        }))?;
        if found.is_some_and(|f| f != len) {
            return Err(side(Defect::ConflictingContentLength));
        }
        found = Some(len);
    }
    found.ok_or(side(Defect::Missing("Content-Length")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Message;

    const A: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\nl: 2\r\n\r\nhi";
    const B: &[u8] = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn frames_pipelined_and_trickled_messages() {
        let mut stream = b"\r\n\r\n\r\n".to_vec();
        stream.extend_from_slice(A);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(B);
        for chunk in [1, 2, 3, 7, stream.len()] {
            let mut f = StreamFramer::new();
            let mut frames = Vec::new();
            for piece in stream.chunks(chunk) {
                f.push(piece);
                while let Some(frame) = f.next_frame().unwrap() {
                    frames.push(frame);
                }
            }
            assert_eq!(
                frames,
                [
                    Frame::KeepAlive,
                    Frame::Message(A.to_vec()),
                    Frame::Message(B.to_vec())
                ],
                "chunk {chunk}"
            );
            assert!(f.buffered().is_empty());
            assert!(Message::parse(A).is_ok());
        }
    }

    #[test]
    fn unframeable_streams() {
        let cases: [(&[u8], Option<u16>); 5] = [
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n",
                Some(400),
            ),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nl: 13\r\nl: 5\r\n\r\n",
                Some(400),
            ),
            (b"OPTIONS sip:a@b SIP/2.0\r\nl: -999\r\n\r\n", Some(400)),
            (b"SIP/2.0 200 OK\r\n\r\n", None),
            (b"OPTIONS sip:a@b SIP/2.0\r\nl: 99999\r\n\r\n", None),
        ];
        for (input, status) in cases {
            let mut f = StreamFramer::new();
            f.push(input);
            let err = f.next_frame().unwrap_err();
            assert_eq!(err.status(), status, "{err}");
            assert_eq!(f.buffered(), input);
        }
        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\nl: 5\r\n\r\n12345");
        assert!(matches!(f.next_frame(), Ok(Some(Frame::Message(_)))));
    }

    #[test]
    fn oversized_header_section() {
        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\n");
        let line = b"X-Filler: 0123456789012345678901234567890123456789\r\n";
        let mut result = Ok(None);
        for _ in 0..(MAX_MESSAGE_SIZE / line.len() + 2) {
            f.push(line);
            result = f.next_frame();
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(result, Err(ParseError::TooLarge { .. })));
    }
}
