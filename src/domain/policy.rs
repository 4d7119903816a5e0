//! Which backends a connection may reach. Link-local and cloud metadata addresses are refused
//! by default (a connection's `Url` must not become a way into the host's own network);
//! `ORGSYNC_BACKEND_ALLOW` opens more and `ORGSYNC_BACKEND_DENY` closes more, each a list of
//! host names (`db.example`, `*.example`) and addresses or CIDR ranges (`10.0.0.0/8`,
//! `fd00::/8`). The check applies to the addresses a name resolves to, at the moment of
//! connecting, so a name that resolves elsewhere later (DNS rebinding) is checked again.
//! A deny wins over an allow. The provider's resolver (`providers::policy`) applies it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// A host name, exactly or (`*.example`) any name below it.
    Host(String),
    Net(IpNet),
}

impl Rule {
    fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().trim_end_matches('.').to_ascii_lowercase();
        if let Ok(net) = t.parse::<IpNet>() {
            return Ok(Self::Net(net));
        }
        if let Ok(ip) = t.parse::<IpAddr>() {
            return Ok(Self::Net(IpNet::from(ip)));
        }
        let name = t.strip_prefix("*.").unwrap_or(&t);
        let valid = !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if valid {
            Ok(Self::Host(t))
        } else {
            Err(format!(
                "'{text}' is neither a host name nor an address or CIDR range"
            ))
        }
    }

    fn matches_host(&self, host: &str) -> bool {
        match self {
            Self::Host(rule) => match rule.strip_prefix("*.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => host == rule,
            },
            Self::Net(_) => false,
        }
    }

    fn matches_ip(&self, ip: IpAddr) -> bool {
        match self {
            Self::Net(net) => net.contains(&ip),
            Self::Host(_) => false,
        }
    }
}

/// The allow and deny lists of the deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendPolicy {
    allow: Vec<Rule>,
    deny: Vec<Rule>,
}

impl BackendPolicy {
    /// Comma- or space-separated lists; a sentence naming the entry at fault otherwise.
    pub fn parse(allow: &str, deny: &str) -> Result<Self, String> {
        let list = |text: &str| -> Result<Vec<Rule>, String> {
            text.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
                .map(Rule::parse)
                .collect()
        };
        Ok(Self {
            allow: list(allow)?,
            deny: list(deny)?,
        })
    }

    /// May a connection to `host` (as the URL names it) go to `ip`?
    pub fn permits(&self, host: &str, ip: IpAddr) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let ip = canonical(ip);
        let hit = |rules: &[Rule]| {
            rules
                .iter()
                .any(|r| r.matches_host(&host) || r.matches_ip(ip))
        };
        if hit(&self.deny) {
            return false;
        }
        hit(&self.allow) || !refused_by_default(ip)
    }
}

/// An IPv4 address written as IPv6 (`::ffff:169.254.169.254`) is checked as the IPv4 it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Link-local (where cloud metadata services live), the metadata addresses themselves, and
/// addresses that name no single host.
fn refused_by_default(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4 == Ipv4Addr::new(100, 100, 100, 200)
        }
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn metadata_and_link_local_are_refused_by_default() {
        let p = BackendPolicy::default();
        for bad in [
            "169.254.169.254",
            "169.254.1.1",
            "fe80::1",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "fd00:ec2::254",
        ] {
            assert!(!p.permits("x", ip(bad)), "{bad}");
        }
        for good in ["127.0.0.1", "::1", "10.1.2.3", "93.184.216.34"] {
            assert!(p.permits("x", ip(good)), "{good}");
        }
    }

    #[test]
    fn a_deployment_opens_and_closes_more() {
        let p = BackendPolicy::parse("169.254.10.0/24", "127.0.0.0/8, ::1, *.internal.example")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.permits("x", ip("169.254.10.7")));
        assert!(!p.permits("x", ip("169.254.169.254")));
        assert!(!p.permits("x", ip("127.0.0.1")));
        assert!(!p.permits("db.internal.example", ip("10.0.0.5")));
        assert!(p.permits("db.example", ip("10.0.0.5")));
        let both = BackendPolicy::parse("10.0.0.0/8", "10.0.0.5").unwrap_or_else(|e| panic!("{e}"));
        assert!(!both.permits("x", ip("10.0.0.5")), "a deny wins");
        assert!(BackendPolicy::parse("not a host!", "").is_err());
    }
}
