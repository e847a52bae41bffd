//! Why a SIP message was refused: [`ParseError`] says on which side the fault lies (a request,
//! which can be answered, or a response, which is dropped) and [`Defect`] says what is wrong.
//! `ParseError::status` turns that into the RFC 3261 reaction: 505 for an unsupported version
//! in a request, 400 for any other request defect, nothing (drop) for a response or for bytes
//! that are not recognisably SIP.

/// A message that could not be parsed (or framed), classified by what the receiver should do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Longer than [`MAX_MESSAGE_SIZE`](super::MAX_MESSAGE_SIZE): dropped (on a stream, the
    /// connection is closed).
    #[error("message is {len} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// How many bytes were seen.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Nothing but line breaks (a keep-alive on a datagram transport).
    #[error("empty message")]
    Empty,
    /// The first line is neither a request line nor a status line of any SIP version.
    #[error("not a SIP message: {0}")]
    NotSip(&'static str),
    /// A request with a defect: answer [`ParseError::status`] if the Via can be recovered
    /// (see [`reject`](super::reject)).
    #[error("bad request: {0}")]
    Request(Defect),
    /// A response with a defect: dropped.
    #[error("bad response: {0}")]
    Response(Defect),
}

impl ParseError {
    /// The status code to answer with: `Some(505)` for an unsupported SIP version in a
    /// request, `Some(400)` for any other defect in a request, `None` (drop) otherwise.
    pub fn status(&self) -> Option<u16> {
        match self {
            ParseError::Request(Defect::Version(_)) => Some(505),
            ParseError::Request(_) => Some(400),
            _ => None,
        }
    }

    /// The defect, when the message was recognisably a request or a response.
    pub fn defect(&self) -> Option<&Defect> {
        match self {
            ParseError::Request(d) | ParseError::Response(d) => Some(d),
            _ => None,
        }
    }
}

/// What is wrong with a message, a header field or a value. Also the error of the typed
/// header accessors (`Headers::cseq` and friends), where `Missing` and `Duplicate` tell an
/// application that a request lacks, or repeats, a header it needs exactly once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Defect {
    /// The request line is not `Method SP Request-URI SP SIP-Version`.
    #[error("malformed request line: {0}")]
    RequestLine(&'static str),
    /// The status line is not `SIP-Version SP 3DIGIT SP Reason-Phrase`.
    #[error("malformed status line: {0}")]
    StatusLine(&'static str),
    /// A SIP version other than 2.0 (the text, clipped).
    #[error("unsupported SIP version `{0}`")]
    Version(String),
    /// A line of the header section is not a header field (1-based line number).
    #[error("line {line}: {reason}")]
    HeaderLine {
        /// The line number in the message, the start line being line 1.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The header section does not end with an empty line.
    #[error("the header section is not terminated by an empty line")]
    Unterminated,
    /// A value does not follow its grammar: `what` names the header field or element.
    #[error("invalid {what}: {reason}")]
    Syntax {
        /// The header field (`Via`, `CSeq`, ...) or element (`Request-URI`, `URI`).
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header field that is needed is absent.
    #[error("missing {0} header")]
    Missing(&'static str),
    /// A header field that may appear once appears more than once.
    #[error("more than one {0} header")]
    Duplicate(&'static str),
    /// Content-Length headers with different values: the message cannot be framed.
    #[error("Content-Length headers disagree")]
    ConflictingContentLength,
    /// The CSeq method differs from the request method (texts clipped).
    #[error("CSeq method `{cseq}` differs from request method `{method}`")]
    CSeqMismatch {
        /// The request-line method.
        method: String,
        /// The CSeq method.
        cseq: String,
    },
    /// Fewer body bytes than Content-Length announces.
    #[error("Content-Length is {expected} but only {available} body bytes arrived")]
    BodyTruncated {
        /// The Content-Length value.
        expected: usize,
        /// The bytes after the header section.
        available: usize,
    },
}

impl Defect {
    /// The same syntax defect attributed to another element (a name-addr error becomes a
    /// `From` error). Other defects are returned unchanged.
    pub(crate) fn relabel(self, what: &'static str) -> Defect {
        match self {
            Defect::Syntax { reason, .. } => Defect::Syntax { what, reason },
            other => other,
        }
    }
}

/// Shorthand for a [`Defect::Syntax`].
pub(crate) fn syntax(what: &'static str, reason: &'static str) -> Defect {
    Defect::Syntax { what, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_decides_answer_or_drop() {
        let version = ParseError::Request(Defect::Version("SIP/7.0".into()));
        assert_eq!(version.status(), Some(505));
        assert_eq!(
            ParseError::Request(Defect::Unterminated).status(),
            Some(400)
        );
        assert_eq!(ParseError::Response(Defect::Unterminated).status(), None);
        assert_eq!(
            ParseError::Response(Defect::Version("SIP/7.0".into())).status(),
            None
        );
        assert_eq!(ParseError::NotSip("garbage").status(), None);
        assert_eq!(ParseError::Empty.status(), None);
    }
}
