//! Which addresses outbound webhooks may reach: never loopback, private,
//! link-local, shared (CGNAT), multicast, unspecified, broadcast,
//! documentation or otherwise reserved ones (nor IPv6 forms embedding
//! them), unless the operator's allow-list (`webhooks.allow_networks`)
//! names them. Checked when an endpoint is registered and by the delivery
//! client's own resolver, so the address connected to is the one checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Why an address is refused, `None` if it is a public one.
pub fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => "an unspecified (0.0.0.0/8)",
        (127, ..) => "a loopback",
        (10, ..) | (192, 168, _) => "a private",
        (172, 16..=31, _) => "a private",
        (169, 254, _) => "a link-local",
        (100, 64..=127, _) => "a shared (CGNAT)",
        (192, 0, 0) => "an IETF protocol",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation",
        (198, 18..=19, _) => "a benchmarking",
        (224..=239, ..) => "a multicast",
        (240..=255, ..) => "a reserved or broadcast",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    Some(match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => "an unspecified",
        [0, 0, 0, 0, 0, 0, 0, 1] => "a loopback",
        // IPv4-compatible (deprecated) and NAT64 forms embed an IPv4 address.
        [0, 0, 0, 0, 0, 0, ..] | [0x64, 0xff9b, 0, 0, 0, 0, ..] | [0x64, 0xff9b, 1, ..] => {
            "an IPv4-embedding"
        }
        [0x100, 0, 0, 0, ..] => "a discard-only",
        [0x2001, 0xdb8, ..] | [0x3fff, 0..=0x0fff, ..] => "a documentation",
        [0x2001, 0..=0x1ff, ..] => "an IETF protocol (Teredo, ORCHID…)",
        // 6to4 embeds an IPv4 address in the next 32 bits.
        [0x2002, hi, lo, ..] => {
            let [a, b] = hi.to_be_bytes();
            let [c, d] = lo.to_be_bytes();
            return refused_v4(Ipv4Addr::new(a, b, c, d));
        }
        [x, ..] if x & 0xfe00 == 0xfc00 => "a unique local (private)",
        [x, ..] if x & 0xffc0 == 0xfe80 => "a link-local",
        [x, ..] if x & 0xffc0 == 0xfec0 => "a site-local",
        [x, ..] if x & 0xff00 == 0xff00 => "a multicast",
        _ => return None,
    })
}

/// The operator's allow-list and the rule above, in one place.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub allow: Arc<Vec<IpNet>>,
}

impl Policy {
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self {
            allow: Arc::new(allow),
        }
    }

    /// Why `ip` may not be reached, `None` if it may.
    pub fn check(&self, ip: IpAddr) -> Option<&'static str> {
        let canonical = ip.to_canonical();
        if self
            .allow
            .iter()
            .any(|n| n.contains(&ip) || n.contains(&canonical))
        {
            return None;
        }
        refused(ip)
    }
}

/// A destination refused by the policy (also the error the delivery
/// client's resolver fails with, found again in the error's chain).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host} resolves to {kind} address ({ip}), which webhooks may not reach")]
pub struct Refused {
    pub host: String,
    pub ip: IpAddr,
    pub kind: &'static str,
}

/// Why a host cannot be reached.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("{0} does not resolve to any address")]
    Unresolvable(String),
}

/// Every address of `host` (an IP literal is itself), each checked: one
/// refused address refuses the host.
pub async fn resolve(
    policy: &Policy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map(Iterator::collect)
            .unwrap_or_default(),
    };
    if addrs.is_empty() {
        return Err(ResolveError::Unresolvable(host.to_owned()));
    }
    for a in &addrs {
        if let Some(kind) = policy.check(a.ip()) {
            return Err(Refused {
                host: host.to_owned(),
                ip: a.ip(),
                kind,
            }
            .into());
        }
    }
    Ok(addrs)
}

/// The delivery client's resolver: it answers only addresses the policy
/// allows, so the connection goes to an address that was checked (a DNS
/// answer that changes between registration and delivery — rebinding —
/// is checked again here, where it is used).
pub struct CheckedResolver(pub Policy);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let addrs = resolve(&policy, name.as_str(), 0).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refuses_every_special_range_and_allows_public_ones() {
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:a00:1::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
            "2001::1",
        ] {
            assert!(refused(ip(bad)).is_some(), "{bad} should be refused");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "2002:808:808::",
        ] {
            assert_eq!(refused(ip(good)), None, "{good} should be allowed");
        }
    }

    #[test]
    fn the_allow_list_opens_a_network_and_its_mapped_form() {
        let policy = Policy::new(vec!["127.0.0.1/32".parse().unwrap()]);
        assert_eq!(policy.check(ip("127.0.0.1")), None);
        assert_eq!(policy.check(ip("::ffff:127.0.0.1")), None);
        assert!(policy.check(ip("127.0.0.2")).is_some());
        assert!(policy.check(ip("::1")).is_some());
    }

    #[tokio::test]
    async fn resolving_checks_literals_and_names() {
        let policy = Policy::default();
        let r = resolve(&policy, "[::1]", 80).await;
        assert!(matches!(r, Err(ResolveError::Refused(_))), "{r:?}");
        let r = resolve(&policy, "localhost", 80).await;
        assert!(matches!(r, Err(ResolveError::Refused(_))), "{r:?}");
        let r = resolve(&policy, "nothing.invalid", 80).await;
        assert!(matches!(r, Err(ResolveError::Unresolvable(_))), "{r:?}");
        let r = resolve(&policy, "93.184.216.34", 443).await.unwrap();
        assert_eq!(r, ["93.184.216.34:443".parse().unwrap()]);
    }

    proptest! {
        /// A refused IPv4 address is refused in its IPv4-mapped and 6to4
        /// forms too, and an allowed one is allowed mapped.
        #[test]
        fn ipv4_forms_agree(bits: u32) {
            let v4 = Ipv4Addr::from(bits);
            let mapped = IpAddr::V6(v4.to_ipv6_mapped());
            prop_assert_eq!(refused(mapped).is_some(), refused_v4(v4).is_some());
            let [a, b, c, d] = v4.octets();
            let six_to_four = Ipv6Addr::new(
                0x2002,
                u16::from_be_bytes([a, b]),
                u16::from_be_bytes([c, d]),
                0, 0, 0, 0, 1,
            );
            prop_assert_eq!(refused(IpAddr::V6(six_to_four)).is_some(), refused_v4(v4).is_some());
        }

        /// Every address in fc00::/7, fe80::/10 and ff00::/8 is refused.
        #[test]
        fn ipv6_private_ranges_are_refused(low: u128) {
            for (prefix, len) in [(0xfc00u128, 7u32), (0xfe80, 10), (0xff00, 8)] {
                let mask = u128::MAX >> len;
                let addr = (prefix << 112) | (low & mask);
                prop_assert!(refused(IpAddr::V6(Ipv6Addr::from(addr))).is_some());
            }
        }
    }
}
