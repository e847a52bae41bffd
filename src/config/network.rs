//! `Network`: an IP network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or a single
//! address, which is a /32 or /128), as `server.security.trusted` lists them. Parsed here (a
//! few lines, no dependency); the address part must be the network itself — `10.1.2.3/8` is
//! refused rather than silently read as `10.0.0.0/8`, since it usually means a typo. An
//! IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, what a dual-stack socket reports) belongs to
//! the IPv4 networks that hold its IPv4 address.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IP network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

/// Why a text is not a network.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("`{0}` is not an IP address")]
    Address(String),
    #[error("`/{prefix}` is not a prefix length for {family} (0-{max})")]
    Prefix {
        prefix: String,
        family: &'static str,
        max: u8,
    },
    #[error("`{text}` has host bits set: the network is `{network}`")]
    HostBits { text: String, network: Network },
}

impl Network {
    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(ip) as u128, 32, self.prefix) == u32::from(net) as u128
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(ip), 128, self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; any other address as it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `bits` (an address of `width` bits) with everything past `prefix` cleared.
fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let keep = u32::from(width.min(128) - prefix.min(width));
    let mask = if width == 128 {
        u128::MAX << keep
    } else {
        (u128::MAX << keep) & ((1u128 << width) - 1)
    };
    bits & mask
}

impl FromStr for Network {
    type Err = NetworkError;

    fn from_str(text: &str) -> Result<Network, NetworkError> {
        let text = text.trim();
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr = canonical(
            addr_text
                .parse::<IpAddr>()
                .map_err(|_| NetworkError::Address(addr_text.to_string()))?,
        );
        let (max, family) = match addr {
            IpAddr::V4(_) => (32u8, "IPv4"),
            IpAddr::V6(_) => (128u8, "IPv6"),
        };
        let prefix = match prefix_text {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| NetworkError::Prefix {
                    prefix: p.to_string(),
                    family,
                    max,
                })?,
        };
        let bits = match addr {
            IpAddr::V4(a) => u32::from(a) as u128,
            IpAddr::V6(a) => u128::from(a),
        };
        let network_bits = masked(bits, max, prefix);
        let network = Network {
            addr: match addr {
                IpAddr::V4(_) => IpAddr::V4((network_bits as u32).into()),
                IpAddr::V6(_) => IpAddr::V6(network_bits.into()),
            },
            prefix,
        };
        if network_bits != bits {
            return Err(NetworkError::HostBits {
                text: text.to_string(),
                network,
            });
        }
        Ok(network)
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Network {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_hold_their_addresses_and_no_others() {
        let ten = net("10.0.0.0/8");
        assert!(ten.contains(ip("10.255.1.2")));
        assert!(!ten.contains(ip("11.0.0.1")));
        assert!(ten.contains(ip("::ffff:10.1.2.3")), "v4-mapped");
        assert!(!ten.contains(ip("2001:db8::1")));
        assert!(net("192.168.1.7").contains(ip("192.168.1.7")));
        assert!(!net("192.168.1.7").contains(ip("192.168.1.8")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.5")));
        let v6 = net("2001:db8::/32");
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::5")));
        assert!(net("::/0").contains(ip("2001:db9::5")));
        assert!(net("172.16.0.0/12").contains(ip("172.31.255.255")));
        assert!(!net("172.16.0.0/12").contains(ip("172.32.0.0")));
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(net("10.0.0.1").to_string(), "10.0.0.1/32");
    }

    #[test]
    fn malformed_networks_say_what_is_wrong() {
        assert_eq!(
            "10.0.0/8".parse::<Network>(),
            Err(NetworkError::Address("10.0.0".into()))
        );
        assert!(matches!(
            "10.0.0.0/33".parse::<Network>(),
            Err(NetworkError::Prefix { max: 32, .. })
        ));
        assert!(matches!(
            "10.0.0.0/+8".parse::<Network>(),
            Err(NetworkError::Prefix { .. })
        ));
        assert!(matches!(
            "2001:db8::/129".parse::<Network>(),
            Err(NetworkError::Prefix { max: 128, .. })
        ));
        let e = "10.1.2.3/8".parse::<Network>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "`10.1.2.3/8` has host bits set: the network is `10.0.0.0/8`"
        );
        assert!("".parse::<Network>().is_err());
        assert!("/".parse::<Network>().is_err());
    }
}
