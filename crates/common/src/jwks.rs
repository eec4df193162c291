//! Verifying access tokens in a resource server with the auth server's published keys
//! (JWKS). Keys are fetched on first use and refetched when a token names an unknown `kid`,
//! at most once every ten seconds, so forged `kid`s cannot make us hammer the auth server.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::token::{AccessClaims, TokenError, TokenVerifier};

const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

pub struct JwksVerifier {
    url: String,
    issuer: String,
    audience: String,
    client: reqwest::Client,
    verifier: RwLock<TokenVerifier>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    x: Option<String>,
}

impl JwksVerifier {
    pub fn new(url: &str, issuer: &str, audience: &str) -> Self {
        Self {
            url: url.to_owned(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a plain reqwest client always builds"),
            verifier: RwLock::new(TokenVerifier::new(issuer, audience)),
            last_fetch: tokio::sync::Mutex::new(None),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let first = self.verifier.read().expect("jwks lock poisoned").verify(token);
        match first {
            Err(TokenError::UnknownKey) => {
                self.refresh().await;
                self.verifier.read().expect("jwks lock poisoned").verify(token)
            }
            other => other,
        }
    }

    /// Re-reads the key set every `every`, so keys the auth server has dropped (rotated out
    /// after their tokens expired, or after a leak) stop being trusted here too.
    pub fn spawn_refresher(self: std::sync::Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                self.refresh().await;
            }
        })
    }

    /// Refetches the key set unless that was done within the last ten seconds.
    async fn refresh(&self) {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(verifier) => *self.verifier.write().expect("jwks lock poisoned") = verifier,
            Err(error) => tracing::warn!(url = %self.url, %error, "cannot fetch the auth server's keys"),
        }
    }

    async fn fetch(&self) -> Result<TokenVerifier, reqwest::Error> {
        let set: JwkSet = self.client.get(&self.url).send().await?.error_for_status()?.json().await?;
        let mut verifier = TokenVerifier::new(&self.issuer, &self.audience);
        for key in set.keys {
            if key.kty != "OKP" || key.crv.as_deref() != Some("Ed25519") {
                continue;
            }
            let public = key.x.as_deref().and_then(|x| URL_SAFE_NO_PAD.decode(x).ok());
            if let (Some(kid), Some(Ok(public))) = (key.kid, public.map(<[u8; 32]>::try_from)) {
                verifier.add_ed25519_key(&kid, &public);
            }
        }
        Ok(verifier)
    }
}
