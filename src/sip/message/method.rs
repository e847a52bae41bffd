//! `Method`: a request method (RFC 3261 §7.1 and the extensions a PBX meets). Methods are
//! case-sensitive tokens: `invite` or `RE%47IST%45R` is an extension method, not INVITE or
//! REGISTER, and is answered as unknown (405/501), never 400.

use std::fmt;
use std::str::FromStr;

use super::error::{syntax, Defect};
use super::lex::is_token;

/// A SIP method. Build one with [`Method::from_str`] (`"INVITE".parse()`), which picks the
/// known variant; an `Extension` holding a known name would not compare equal to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE.
    Invite,
    /// ACK.
    Ack,
    /// BYE.
    Bye,
    /// CANCEL.
    Cancel,
    /// REGISTER.
    Register,
    /// OPTIONS.
    Options,
    /// INFO (RFC 6086).
    Info,
    /// UPDATE (RFC 3311).
    Update,
    /// PRACK (RFC 3262).
    Prack,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// PUBLISH (RFC 3903).
    Publish,
    /// Any other token, as written.
    Extension(String),
}

const KNOWN: [(&str, Method); 14] = [
    ("INVITE", Method::Invite),
    ("ACK", Method::Ack),
    ("BYE", Method::Bye),
    ("CANCEL", Method::Cancel),
    ("REGISTER", Method::Register),
    ("OPTIONS", Method::Options),
    ("INFO", Method::Info),
    ("UPDATE", Method::Update),
    ("PRACK", Method::Prack),
    ("SUBSCRIBE", Method::Subscribe),
    ("NOTIFY", Method::Notify),
    ("REFER", Method::Refer),
    ("MESSAGE", Method::Message),
    ("PUBLISH", Method::Publish),
];

impl Method {
    /// The method name.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Extension(name) => name,
            known => KNOWN
                .iter()
                .find(|(_, m)| m == known)
                .map_or("", |(name, _)| name),
        }
    }

    /// Whether this is one of the named (non-extension) methods.
    pub fn is_known(&self) -> bool {
        !matches!(self, Method::Extension(_))
    }
}

impl FromStr for Method {
    type Err = Defect;

    /// Reads a method token (case-sensitive).
    fn from_str(token: &str) -> Result<Method, Defect> {
        if !is_token(token) {
            return Err(syntax("method", "not a token"));
        }
        Ok(KNOWN
            .into_iter()
            .find(|(name, _)| *name == token)
            .map_or_else(|| Method::Extension(token.to_owned()), |(_, m)| m))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_case_sensitive_tokens() {
        assert_eq!("INVITE".parse::<Method>().unwrap(), Method::Invite);
        assert_eq!(
            "invite".parse::<Method>().unwrap(),
            Method::Extension("invite".into())
        );
        let odd = "!interesting-Method0123456789_*+`.%indeed'~";
        assert_eq!(odd.parse::<Method>().unwrap().as_str(), odd);
        assert!("IN VITE".parse::<Method>().is_err());
        assert!("".parse::<Method>().is_err());
        for (name, m) in KNOWN {
            assert_eq!(m.as_str(), name);
        }
    }
}
