//! `TransactionKey`: what the driver looks a transaction up by when a message arrives
//! (RFC 3261 §17.1.3 for responses, §17.2.3 for requests).
//!
//! A key is built from plain strings the caller has already parsed out of the message (the top
//! Via's branch and sent-by, the request method or CSeq method), so it does not depend on the
//! codec. Only RFC 3261 branches (starting with the magic cookie `z9hG4bK`) are supported; the
//! RFC 2543 fallback matching is not.

/// The prefix that marks an RFC 3261 branch parameter (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// Identifies one transaction. A client key (branch, method) and a server key (branch,
/// sent-by, method) never compare equal; keep client and server transactions in separate maps.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionKey {
    branch: String,
    /// The top Via's sent-by, ASCII-lowercased; `None` for client keys.
    sent_by: Option<String>,
    method: String,
}

impl TransactionKey {
    /// The key of a client transaction: the branch of the top Via and the CSeq method. Use it
    /// both when creating the transaction (from the request) and when a response arrives (from
    /// the response's top Via and CSeq). `None` if the branch lacks the magic cookie.
    pub fn client(branch: &str, cseq_method: &str) -> Option<TransactionKey> {
        is_rfc3261_branch(branch).then(|| TransactionKey {
            branch: branch.to_owned(),
            sent_by: None,
            method: cseq_method.to_owned(),
        })
    }

    /// The key of a server transaction: the branch and sent-by of the request's top Via and
    /// its method, where ACK counts as INVITE (an ACK for a non-2xx response belongs to the
    /// INVITE's transaction). CANCEL keeps its own method: it is a transaction of its own.
    /// `None` if the branch lacks the magic cookie. The sent-by (`host[:port]`) is compared
    /// ASCII-case-insensitively, the branch and method exactly.
    pub fn server(branch: &str, sent_by: &str, method: &str) -> Option<TransactionKey> {
        let method = if method == "ACK" { "INVITE" } else { method };
        is_rfc3261_branch(branch).then(|| TransactionKey {
            branch: branch.to_owned(),
            sent_by: Some(sent_by.to_ascii_lowercase()),
            method: method.to_owned(),
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The method the transaction is for (INVITE for an ACK's server key).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Whether this is the key of an INVITE transaction.
    pub fn is_invite(&self) -> bool {
        self.method == "INVITE"
    }
}

/// Whether `branch` is an RFC 3261 branch, i.e. starts with [`MAGIC_COOKIE`].
pub fn is_rfc3261_branch(branch: &str) -> bool {
    branch.len() > MAGIC_COOKIE.len() && branch.starts_with(MAGIC_COOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys_match_on_branch_and_cseq_method() {
        let request = TransactionKey::client("z9hG4bKabc", "INVITE").unwrap();
        assert_eq!(
            TransactionKey::client("z9hG4bKabc", "INVITE"),
            Some(request.clone())
        );
        assert_ne!(
            TransactionKey::client("z9hG4bKabc", "CANCEL"),
            Some(request.clone())
        );
        assert_ne!(
            TransactionKey::client("z9hG4bKabd", "INVITE"),
            Some(request)
        );
    }

    #[test]
    fn server_keys_fold_ack_into_invite_and_keep_cancel_apart() {
        let invite = TransactionKey::server("z9hG4bKx", "Host.example:5060", "INVITE").unwrap();
        assert!(invite.is_invite());
        assert_eq!(
            TransactionKey::server("z9hG4bKx", "host.example:5060", "ACK"),
            Some(invite.clone())
        );
        assert_ne!(
            TransactionKey::server("z9hG4bKx", "host.example:5060", "CANCEL"),
            Some(invite.clone())
        );
        assert_ne!(
            TransactionKey::server("z9hG4bKx", "other.example:5060", "INVITE"),
            Some(invite.clone())
        );
        assert_ne!(TransactionKey::client("z9hG4bKx", "INVITE"), Some(invite));
    }

    #[test]
    fn branches_without_the_magic_cookie_are_refused() {
        assert_eq!(TransactionKey::client("abc", "INVITE"), None);
        assert_eq!(TransactionKey::server("z9hG4bK", "h", "INVITE"), None);
        assert!(is_rfc3261_branch("z9hG4bK1"));
    }
}
