//! Where tool servers may be reached (`docs/security.md`, "Tools"). A user-registered URL must
//! be HTTPS and may not reach loopback, private, link-local, metadata or other internal
//! addresses — checked on the literal address, and after DNS resolution by the client's own
//! resolver, whose answers are the only addresses it connects to (a name cannot resolve to a
//! public address when checked and to an internal one when used). Redirects are checked the same
//! way. Hosts an administrator allows (`host` or `host:port`) skip these rules.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_client::Url;
use http_client::dns::{Addrs, Name, Resolve, Resolving};

/// Most redirects one request follows.
const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("the server's address is not a valid http(s) URL")]
    Invalid,
    #[error(
        "the server's address must start with https:// (plain http only for hosts an administrator allows)"
    )]
    NotHttps,
    #[error(
        "{0} is a loopback, private, link-local or other internal address: tool servers must be on \
         the public internet unless an administrator allows the host"
    )]
    Internal(String),
    /// A name with no public address (none at all, or only internal ones: which of the two is
    /// not said, so the message cannot map internal DNS).
    #[error(
        "{0} has no public address (it is a loopback, private or other internal address, or none): \
         tool servers must be on the public internet unless an administrator allows the host"
    )]
    NoPublicAddress(String),
}

/// The egress policy: which hosts an administrator allows besides the public internet.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    allowed: Arc<HashSet<String>>,
}

impl Egress {
    /// `allowed`: host names, IP addresses or `host:port`s an administrator allows (any scheme,
    /// any address they resolve to).
    pub fn new(allowed: impl IntoIterator<Item = String>) -> Self {
        Self { allowed: Arc::new(allowed.into_iter().map(|h| h.trim().to_ascii_lowercase()).collect()) }
    }

    fn allows(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        self.allowed.contains(&host)
            || port.is_some_and(|p| {
                self.allowed.contains(&format!("{host}:{p}"))
                    || self.allowed.contains(&format!("[{host}]:{p}"))
            })
    }

    /// Whether a name may resolve to internal addresses: it is allowed on some port (the port
    /// itself was checked with the URL, before the name was resolved).
    fn allows_name(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let with_port = format!("{host}:");
        self.allowed
            .iter()
            .any(|a| *a == host || a.strip_prefix(&with_port).is_some_and(|p| p.parse::<u16>().is_ok()))
    }

    /// Checks a URL before anything connects to it: scheme, and the host when it is an address.
    pub fn check(&self, url: &str) -> Result<Url, EgressError> {
        let url = Url::parse(url.trim()).map_err(|_| EgressError::Invalid)?;
        self.check_url(&url)?;
        Ok(url)
    }

    fn check_url(&self, url: &Url) -> Result<(), EgressError> {
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or(EgressError::Invalid)?;
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some()
        {
            return Err(EgressError::Invalid);
        }
        if self.allows(host, url.port_or_known_default()) {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err(EgressError::NotHttps);
        }
        match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(ip) if is_internal(ip) => Err(EgressError::Internal(ip.to_string())),
            _ => Ok(()),
        }
    }

    /// An HTTP client that connects only where this policy allows: names resolve through the
    /// policy, redirects are checked (at most five), and nothing is read from proxies or the
    /// environment.
    pub fn client(&self, timeout: Duration) -> http_client::Client {
        let policy = self.clone();
        self.build(timeout, move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        })
    }

    /// [`client`](Self::client) that follows no redirect (a request's custom headers and body
    /// would go along to wherever it points).
    pub fn client_without_redirects(&self, timeout: Duration) -> http_client::Client {
        self.build(timeout, |attempt| attempt.stop())
    }

    fn build(
        &self,
        timeout: Duration,
        redirects: impl Fn(http_client::redirect::Attempt) -> http_client::redirect::Action
        + Send
        + Sync
        + 'static,
    ) -> http_client::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let redirects = http_client::redirect::Policy::custom(redirects);
        http_client::Client::builder()
            .dns_resolver(Arc::new(Guarded(self.clone())))
            .redirect(redirects)
            .no_proxy()
            .connect_timeout(timeout)
            .build()
            .expect("the HTTP client's settings are valid")
    }
}

/// Resolves names, keeping only the addresses the policy allows.
struct Guarded(Egress);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| boxed(EgressError::NoPublicAddress(host.clone())))?
                .collect();
            let allowed = policy.allows_name(&host);
            let usable: Vec<SocketAddr> =
                found.iter().copied().filter(|a| allowed || !is_internal(a.ip())).collect();
            if usable.is_empty() {
                if let Some(first) = found.first() {
                    tracing::info!(host = %host, address = %first.ip(), "a tool server's name resolves to internal addresses only");
                }
                return Err(boxed(EgressError::NoPublicAddress(host)));
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

fn boxed(error: EgressError) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(error)
}

/// Whether an address is not on the public internet (or is a metadata endpoint).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let [first, second, ..] = v6.segments();
            // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
            if first == 0x64 && second == 0xff9b && v6.segments()[2..6] == [0, 0, 0, 0] {
                let [.., a, b, c, d] = v6.octets();
                return is_internal_v4(Ipv4Addr::new(a, b, c, d));
            }
            // IPv4-compatible (::a.b.c.d, deprecated), local-use NAT64 (64:ff9b:1::/48) and 6to4
            // (2002::/16) may all lead to IPv4 addresses: none is a tool server's.
            let compatible = v6.segments()[..6] == [0, 0, 0, 0, 0, 0];
            compatible
                || (first == 0x64 && second == 0xff9b && v6.segments()[2] == 1)
                || first == 0x2002
                || v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (first == 0x2001 && second == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) // AWS metadata (IPv6)
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata lives here
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (b & 0xc0) == 64) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // benchmarking
        || a >= 240 // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "fd00:ec2::254",
            "::7f00:1",
            "64:ff9b:1::a00:1",
            "2002:a00:1::1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "93.184.216.34", "2606:4700::1111", "64:ff9b::808:808"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_checked_before_anything_connects() {
        let policy = Egress::new(["tools.internal".to_owned(), "127.0.0.1:9000".to_owned()]);
        assert!(policy.check("https://mcp.example.com/mcp").is_ok());
        assert_eq!(policy.check("http://mcp.example.com/mcp"), Err(EgressError::NotHttps));
        for internal in [
            "https://127.0.0.1/mcp",
            "https://10.0.0.8/mcp",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]:8080/mcp",
            "https://[::ffff:127.0.0.1]/mcp",
            "https://2130706433/mcp", // 127.0.0.1 written as one number
        ] {
            assert!(matches!(policy.check(internal), Err(EgressError::Internal(_))), "{internal}");
        }
        for invalid in
            ["ftp://mcp.example.com", "not a url", "https://user:pw@mcp.example.com/", "file:///etc/passwd"]
        {
            assert_eq!(policy.check(invalid), Err(EgressError::Invalid), "{invalid}");
        }
        // What an administrator allows, by host or by host and port.
        assert!(policy.check("http://tools.internal:8080/mcp").is_ok());
        assert!(policy.check("http://127.0.0.1:9000/mcp").is_ok());
        assert!(policy.check("http://127.0.0.1:9001/mcp").is_err());
        // A name allowed with a port may resolve to internal addresses (its port was checked).
        let named = Egress::new(["tools.lan:8443".to_owned(), "[fd00::1]:9000".to_owned()]);
        assert!(named.allows_name("tools.lan") && named.allows_name("TOOLS.lan"));
        assert!(!named.allows_name("tools") && !named.allows_name("other.lan"));
        assert!(named.check("https://tools.lan:8443/mcp").is_ok());
        assert!(named.check("http://[fd00::1]:9000/mcp").is_ok());
        assert!(named.check("http://[fd00::1]:9001/mcp").is_err());
    }
}
