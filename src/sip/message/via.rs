//! `Via`: one hop of a Via header (RFC 3261 §20.42, §18.2.1; RFC 3581 rport): the transport
//! (unknown tokens kept), the sent-by host and port, and the parameters, with accessors for
//! `branch`, `received`, `rport`, `maddr` and `ttl`. White space is allowed around `/`, `;`
//! and `=` as the grammar permits (`SIP  /   2.0 /UDP host;branch = x`).

use std::fmt;
use std::str::FromStr;

use super::error::{syntax, Defect};
use super::lex::{is_token_byte, Cursor};
use super::params::Params;
use super::uri::{parse_port, Host};

/// The transport token of a Via.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `UDP`.
    Udp,
    /// `TCP`.
    Tcp,
    /// `TLS`.
    Tls,
    /// `SCTP`.
    Sctp,
    /// `WS` (RFC 7118).
    Ws,
    /// `WSS` (RFC 7118).
    Wss,
    /// Any other token, as written.
    Other(String),
}

impl Transport {
    /// Reads a transport token, ignoring ASCII case for the known ones.
    pub fn from_token(token: &str) -> Transport {
        const KNOWN: [(&str, Transport); 6] = [
            ("UDP", Transport::Udp),
            ("TCP", Transport::Tcp),
            ("TLS", Transport::Tls),
            ("SCTP", Transport::Sctp),
            ("WS", Transport::Ws),
            ("WSS", Transport::Wss),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(token))
            .map_or_else(|| Transport::Other(token.to_owned()), |(_, t)| t)
    }

    /// The token (`UDP`, ...; others as written).
    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(t) => t,
        }
    }

    /// Whether the transport is reliable (everything but UDP), as the transaction layer
    /// needs to know.
    pub fn is_reliable(&self) -> bool {
        *self != Transport::Udp
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `rport` parameter (RFC 3581).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rport {
    /// `;rport` without a value: the client asks for the source port to be filled in.
    Requested,
    /// `;rport=port`: filled in by a server.
    Port(u16),
}

/// One Via value: `SIP/2.0/transport sent-by *(;param)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Via {
    /// The transport.
    pub transport: Transport,
    /// The sent-by host.
    pub host: Host,
    /// The sent-by port, when written.
    pub port: Option<u16>,
    /// The parameters in order.
    pub params: Params,
}

impl Via {
    /// A Via with no parameters.
    pub fn new(transport: Transport, host: Host, port: Option<u16>) -> Via {
        Via {
            transport,
            host,
            port,
            params: Params::new(),
        }
    }

    /// Parses one Via value (one element of a comma-separated Via header).
    pub fn parse(text: &str) -> Result<Via, Defect> {
        Via::parse_raw(text).map_err(|reason| syntax("Via", reason))
    }

    fn parse_raw(text: &str) -> Result<Via, &'static str> {
        let mut c = Cursor::new(text);
        c.skip_ws();
        let name = c.token().ok_or("missing protocol name")?;
        c.skip_ws();
        if !c.eat(b'/') {
            return Err("expected `/` after the protocol name");
        }
        c.skip_ws();
        let version = c.token().ok_or("missing protocol version")?;
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err("sent-protocol is not SIP/2.0");
        }
        c.skip_ws();
        if !c.eat(b'/') {
            return Err("expected `/` before the transport");
        }
        c.skip_ws();
        let transport = Transport::from_token(c.token().ok_or("missing transport")?);
        if !c.skip_ws() {
            return Err("expected white space before sent-by");
        }
        let host = if c.peek() == Some(b'[') {
            let v6 = c.take_while(|b| b != b']');
            if !c.eat(b']') {
                return Err("unterminated IPv6 reference");
            }
            Host::parse_raw(&format!("{v6}]"))?
        } else {
            Host::parse_raw(c.take_while(|b| is_token_byte(b) && b != b'%'))?
        };
        c.skip_ws();
        let port = if c.eat(b':') {
            c.skip_ws();
            Some(parse_port(c.take_while(|b| b.is_ascii_digit())).ok_or("invalid port")?)
        } else {
            None
        };
        let params = Params::parse_header(&mut c)?;
        if let Some(p) = params.get("rport") {
            if let Some(v) = &p.value {
                parse_port(v).ok_or("invalid rport")?;
            }
        }
        for name in ["branch", "received", "maddr", "ttl"] {
            if params.get(name).is_some_and(|p| p.value.is_none()) {
                return Err("parameter needs a value");
            }
        }
        Ok(Via {
            transport,
            host,
            port,
            params,
        })
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }

    /// The `rport` parameter: absent, requested (a flag) or filled in.
    pub fn rport(&self) -> Option<Rport> {
        let p = self.params.get("rport")?;
        match &p.value {
            None => Some(Rport::Requested),
            Some(v) => parse_port(v).map(Rport::Port),
        }
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.value("maddr")
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl").and_then(|t| t.parse().ok())
    }

    /// `host[:port]`, the sent-by as the transaction layer keys it.
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.to_string(),
        }
    }
}

impl FromStr for Via {
    type Err = Defect;

    fn from_str(s: &str) -> Result<Via, Defect> {
        Via::parse(s)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.sent_by())?;
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folded_white_space() {
        let v = Via::parse("SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, Host::V4("192.0.2.2".parse().unwrap()));
        assert_eq!(v.branch(), Some("390skdjuw"));
        let v =
            Via::parse("SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8")
                .unwrap();
        assert_eq!(v.transport, Transport::Tcp);
        assert_eq!(v.sent_by(), "spindle.example.com");
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
    }

    #[test]
    fn accessors() {
        let v = Via::parse(
            "SIP/2.0/UNKNOWN [2001:db8::9]:5070;rport;received=2001:db8::1;maddr=x;ttl=16",
        )
        .unwrap();
        assert_eq!(v.transport, Transport::Other("UNKNOWN".into()));
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.rport(), Some(Rport::Requested));
        assert_eq!(v.received(), Some("2001:db8::1"));
        assert_eq!(v.maddr(), Some("x"));
        assert_eq!(v.ttl(), Some(16));
        assert_eq!(v.sent_by(), "[2001:db8::9]:5070");
        let v = Via::parse("SIP/2.0/udp h : 5060 ;rport=1234").unwrap();
        assert_eq!(v.rport(), Some(Rport::Port(1234)));
        assert_eq!(v.to_string(), "SIP/2.0/UDP h:5060;rport=1234");
        assert_eq!(Via::parse(&v.to_string()).unwrap(), v);
    }

    #[test]
    fn rejects_malformed_vias() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            ";",
            "",
            "SIP/7.0/UDP host",
            "SIP/2.0/UDP",
            "SIP/2.0/UDPhost",
            "SIP/2.0/UDP host:",
            "SIP/2.0/UDP host;rport=x",
            "SIP/2.0/UDP host;branch",
            "SIP/2.0/UDP host junk",
            "SIP/2.0/UDP [::1",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
    }
}
