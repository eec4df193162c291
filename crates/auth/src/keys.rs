//! Ed25519 signing keys: generated on first start, persisted in the database (so every replica
//! signs with the same key), published as a JWKS, rotated without downtime.

use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::token::{ACCESS_TOKEN_TYP, AccessClaims, LEEWAY_SECS, TokenError, TokenVerifier};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::store::{Db, KeyRecord, StoreResult};

/// What is known about the keys at one moment.
struct Snapshot {
    kid: String,
    signing: EncodingKey,
    verifier: TokenVerifier,
    jwks: Value,
}

/// The key set, reloadable from the database.
pub struct KeyStore {
    db: Db,
    issuer: String,
    audience: String,
    /// How long a retired key stays published: the longest token lifetime plus leeway.
    publish_retired_for: i64,
    current: RwLock<Arc<Snapshot>>,
}

impl KeyStore {
    /// Loads the keys, generating the first one if there is none.
    pub async fn load(db: Db, issuer: &str, audience: &str, access_ttl_secs: u64) -> StoreResult<Self> {
        let publish_retired_for = access_ttl_secs as i64 + LEEWAY_SECS as i64 + 60;
        let snapshot = read_snapshot(&db, issuer, audience, publish_retired_for).await?;
        Ok(Self {
            db,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            publish_retired_for,
            current: RwLock::new(Arc::new(snapshot)),
        })
    }

    /// Re-reads the keys (picks up a rotation done by another process).
    pub async fn reload(&self) -> StoreResult<()> {
        let snapshot =
            read_snapshot(&self.db, &self.issuer, &self.audience, self.publish_retired_for).await?;
        *self.current.write().expect("key lock poisoned") = Arc::new(snapshot);
        Ok(())
    }

    /// Makes a new signing key; the old ones keep verifying until their tokens expire.
    pub async fn rotate(&self) -> StoreResult<String> {
        let record = new_key(common::clock::now());
        self.db.rotate_signing_key(&record, record.created_at).await?;
        self.reload().await?;
        Ok(record.kid)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.current.read().expect("key lock poisoned").clone()
    }

    /// Signs claims as an RFC 9068 access token.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, jsonwebtoken::errors::Error> {
        let snapshot = self.snapshot();
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        header.kid = Some(snapshot.kid.clone());
        jsonwebtoken::encode(&header, claims, &snapshot.signing)
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.snapshot().verifier.verify(token)
    }

    /// Verifies a token that may have expired less than `grace_secs` ago.
    pub fn verify_expired_within(&self, token: &str, grace_secs: u64) -> Result<AccessClaims, TokenError> {
        self.snapshot().verifier.verify_expired_within(token, grace_secs)
    }

    /// The public keys as a JWKS document (RFC 7517).
    pub fn jwks(&self) -> Value {
        self.snapshot().jwks.clone()
    }

    pub fn current_kid(&self) -> String {
        self.snapshot().kid.clone()
    }
}

async fn read_snapshot(
    db: &Db,
    issuer: &str,
    audience: &str,
    publish_retired_for: i64,
) -> StoreResult<Snapshot> {
    let now = common::clock::now();
    let mut records = db.signing_keys(now - publish_retired_for).await?;
    if !records.iter().any(|k| k.retired_at.is_none()) {
        let record = new_key(now);
        db.rotate_signing_key(&record, now).await?;
        tracing::info!(kid = %record.kid, "generated a new token signing key");
        records = db.signing_keys(now - publish_retired_for).await?;
    }
    let active = records.iter().find(|k| k.retired_at.is_none()).expect("an active key was just ensured");
    let der = STANDARD.decode(&active.private_key).unwrap_or_default();
    let mut verifier = TokenVerifier::new(issuer, audience);
    let mut jwks = Vec::new();
    for record in &records {
        let Some(public) = URL_SAFE_NO_PAD
            .decode(&record.public_key)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        else {
            tracing::error!(kid = %record.kid, "skipping a stored signing key whose public half is malformed");
            continue;
        };
        verifier.add_ed25519_key(&record.kid, &public);
        jwks.push(json!({
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": record.kid, "x": record.public_key,
        }));
    }
    Ok(Snapshot {
        kid: active.kid.clone(),
        signing: EncodingKey::from_ed_der(&der),
        verifier,
        jwks: json!({ "keys": jwks }),
    })
}

/// A fresh key whose `kid` is its RFC 7638 JWK thumbprint.
fn new_key(now: i64) -> KeyRecord {
    let signing = SigningKey::from_bytes(&common::ids::random_bytes::<32>());
    let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
    let der = signing.to_pkcs8_der().expect("an Ed25519 key always encodes as PKCS#8");
    let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    KeyRecord {
        kid: URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes())),
        private_key: STANDARD.encode(der.as_bytes()),
        public_key: x,
        created_at: now,
        retired_at: None,
    }
}
