//! The reverse proxies whose `X-Forwarded-For` is believed (`auth.trusted_proxies`): addresses
//! or networks (`10.0.0.5`, `172.28.0.0/24`, `fd00::/8`), compared in canonical form, so a
//! server bound to `[::]`, which sees IPv4 peers as `::ffff:10.0.0.5`, still matches `10.0.0.5`.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;
use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is one of the proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client's address: the peer, or, when the peer is a proxy, the nearest address in
    /// `X-Forwarded-For` that is not one. `None` for the peer itself means it sent the header
    /// without being trusted (callers may warn once).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> (IpAddr, bool) {
        let peer = peer.to_canonical();
        let mut forwarded = headers.get_all("x-forwarded-for").iter().peekable();
        if !self.contains(peer) {
            return (peer, forwarded.peek().is_some());
        }
        // From the nearest hop outwards: the first address that is not a proxy is the client.
        // An entry that does not parse ends the walk at the last proxy seen: what lies left of
        // it may be the client's own invention.
        let entries: Vec<&str> =
            forwarded.filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
        let mut nearest = peer;
        for entry in entries.into_iter().rev() {
            match entry.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
                Ok(ip) if self.contains(ip) => nearest = ip,
                Ok(ip) => return (ip, false),
                Err(_) => break,
            }
        }
        (nearest, false)
    }
}

impl From<Vec<IpAddr>> for TrustedProxies {
    fn from(addresses: Vec<IpAddr>) -> Self {
        Self(addresses.into_iter().map(|ip| IpNet::from(ip.to_canonical())).collect())
    }
}

impl std::str::FromStr for TrustedProxies {
    type Err = String;

    /// Comma-separated addresses or networks.
    fn from_str(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_one)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

fn parse_one(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(match net.addr().to_canonical() {
            // `::ffff:10.0.0.0/104` is the IPv4 network it maps.
            IpAddr::V4(v4) if net.addr().is_ipv6() => {
                IpNet::new(IpAddr::V4(v4), net.prefix_len().saturating_sub(96)).map_err(|e| e.to_string())?
            }
            _ => net.trunc(),
        });
    }
    text.parse::<IpAddr>()
        .map(|ip| IpNet::from(ip.to_canonical()))
        .map_err(|_| format!("{text:?} is not an IP address or network (e.g. 10.0.0.5 or 172.28.0.0/24)"))
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(deserializer)?;
        entries
            .iter()
            .map(|e| parse_one(e.trim()))
            .collect::<Result<_, _>>()
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    #[test]
    fn networks_and_addresses_match_in_canonical_form() {
        let proxies: TrustedProxies = "10.0.0.5, 172.28.0.0/24, fd00::/8".parse().unwrap();
        assert!(proxies.contains("10.0.0.5".parse().unwrap()));
        assert!(proxies.contains("::ffff:10.0.0.5".parse().unwrap()));
        assert!(proxies.contains("172.28.0.77".parse().unwrap()));
        assert!(!proxies.contains("172.28.1.1".parse().unwrap()));
        assert!(proxies.contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.local".parse::<TrustedProxies>().is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_proxy() {
        let proxies: TrustedProxies = "172.28.0.0/24".parse().unwrap();
        let chain = headers("203.0.113.9, 172.28.0.3");
        let (ip, untrusted) = proxies.client_ip("172.28.0.10".parse().unwrap(), &chain);
        assert_eq!((ip, untrusted), ("203.0.113.9".parse().unwrap(), false));
        let (ip, untrusted) = proxies.client_ip("198.51.100.1".parse().unwrap(), &chain);
        assert_eq!((ip, untrusted), ("198.51.100.1".parse().unwrap(), true));
        // An entry that does not parse stops the walk: what is left of it is not believed.
        let odd = headers("203.0.113.9, unknown, 172.28.0.3");
        let (ip, _) = proxies.client_ip("172.28.0.10".parse().unwrap(), &odd);
        assert_eq!(ip, "172.28.0.3".parse::<IpAddr>().unwrap());
    }
}
