//! Extractors: the authenticated caller and the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use common::http::{ApiError, TrustedProxies};

use crate::principal::{Principal, authenticate};
use crate::state::AppState;

/// The caller, authenticated by `Authorization: Bearer <access token>`.
pub struct AuthUser(pub Principal);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| ApiError::unauthorized("Not authenticated", false))?;
        authenticate(state, token).await.map(AuthUser)
    }
}

/// The caller if a bearer token is present; a present but bad token is still refused.
pub struct MaybeAuthUser(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match bearer_token(parts) {
            Some(token) => authenticate(state, token).await.map(|p| MaybeAuthUser(Some(p))),
            None => Ok(MaybeAuthUser(None)),
        }
    }
}

/// The token of an `Authorization: Bearer …` header (scheme case-insensitive, RFC 6750 §2.1).
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The client's address: the socket peer, unless the peer is a trusted proxy, in which case
/// the nearest untrusted address of `X-Forwarded-For`. Anyone else's `X-Forwarded-For` is
/// ignored, so it cannot be used to dodge per-address limits.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| ApiError::internal("the server was started without connection info"))?;
        Ok(ClientIp(client_ip(peer, parts, &state.config.trusted_proxies)))
    }
}

/// The client's address (`TrustedProxies::client_ip`); warns once when a peer that is not a
/// trusted proxy sends `X-Forwarded-For`.
fn client_ip(peer: IpAddr, parts: &Parts, trusted: &TrustedProxies) -> IpAddr {
    let (ip, untrusted_forwarded) = trusted.client_ip(peer, &parts.headers);
    if untrusted_forwarded {
        warn_untrusted_forwarded_for(ip);
    }
    ip
}

/// Warns once per process that `X-Forwarded-For` came from a peer that is not a trusted proxy:
/// behind an unlisted proxy every client shares the proxy's limits.
fn warn_untrusted_forwarded_for(peer: IpAddr) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            %peer,
            "X-Forwarded-For came from a peer that is not in auth.trusted_proxies (OPENCHAT_TRUSTED_PROXIES); \
             it is ignored, so if this peer is your proxy, every client behind it shares one set of login limits"
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(xff: &str) -> Parts {
        let (parts, ()) =
            axum::http::Request::builder().header("x-forwarded-for", xff).body(()).unwrap().into_parts();
        parts
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let spoofed = parts("198.51.100.1, 203.0.113.9");
        let none = TrustedProxies::default();
        let proxies = TrustedProxies::from(vec![proxy]);
        assert_eq!(client_ip(client, &spoofed, &none), client);
        assert_eq!(client_ip(proxy, &spoofed, &proxies), client);
        assert_eq!(client_ip(proxy, &parts("garbage"), &proxies), proxy);
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_proxies_and_back() {
        let mapped_proxy: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let xff = parts("203.0.113.9");
        let proxies = TrustedProxies::from(vec![proxy]);
        assert_eq!(client_ip(mapped_proxy, &xff, &proxies), client);
        assert_eq!(client_ip(proxy, &xff, &TrustedProxies::from(vec![mapped_proxy])), client);
        // A mapped client address in the header counts as the IPv4 one.
        assert_eq!(client_ip(proxy, &parts("::ffff:203.0.113.9"), &proxies), client);
        // An untrusted mapped peer is itself, in IPv4 form.
        assert_eq!(
            client_ip("::ffff:198.51.100.7".parse().unwrap(), &xff, &proxies),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }
}
