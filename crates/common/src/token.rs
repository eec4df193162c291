//! The access-token contract between the auth server and every resource server: RFC 9068 JWT
//! claims, Ed25519 signatures, and a verifier that pins everything an attacker could choose.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Claims of an access token (RFC 9068 §2.2, plus `roles`, `preferred_username` and `sid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The user id.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    pub roles: Vec<String>,
    pub preferred_username: String,
    /// The session (refresh-token family) this token belongs to.
    pub sid: String,
}

impl AccessClaims {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Why a token was refused. The messages are safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("The token is malformed")]
    Malformed,
    #[error("The token's signing algorithm is not accepted")]
    Algorithm,
    #[error("The token is not an access token")]
    Type,
    #[error("The token was signed by an unknown key")]
    UnknownKey,
    #[error("The token's signature is invalid")]
    Signature,
    #[error("The token has expired")]
    Expired,
    #[error("The token is not valid yet")]
    NotYetValid,
    #[error("The token was issued for another issuer or audience")]
    WrongIssuerOrAudience,
    #[error("The token has been revoked")]
    Revoked,
}

/// Public keys by `kid`, with the issuer and audience tokens must carry.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl TokenVerifier {
    pub fn new(issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self { keys: HashMap::new(), validation }
    }

    /// Adds an Ed25519 public key (its 32 raw bytes).
    pub fn add_ed25519_key(&mut self, kid: &str, public_key: &[u8; 32]) {
        self.keys.insert(kid.to_owned(), DecodingKey::from_ed_der(public_key));
    }

    pub fn has_key(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The `kid` a token names, without verifying anything; for deciding whether to refetch keys.
    pub fn kid_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).ok()?.kid
    }

    /// Verifies signature, algorithm, `typ`, `iss`, `aud`, `exp` and `nbf`. Header fields that
    /// point elsewhere for keys (`jku`, `x5u`, `jwk`) are never followed: keys come only from
    /// this verifier's own set.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.verify_with(token, &self.validation)
    }

    /// As [`Self::verify`], but a token that expired less than `grace_secs` ago passes too (the
    /// auth server's token exchange, which checks the token's session itself).
    pub fn verify_expired_within(&self, token: &str, grace_secs: u64) -> Result<AccessClaims, TokenError> {
        let mut validation = self.validation.clone();
        validation.leeway = grace_secs.max(LEEWAY_SECS);
        self.verify_with(token, &validation)
    }

    fn verify_with(&self, token: &str, validation: &Validation) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithmName => TokenError::Algorithm,
            _ => TokenError::Malformed,
        })?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(TokenError::Type);
        }
        let key = header.kid.as_deref().and_then(|kid| self.keys.get(kid)).ok_or(TokenError::UnknownKey)?;
        jsonwebtoken::decode::<AccessClaims>(token, key, validation).map(|data| data.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature | K::InvalidEddsaKey => TokenError::Signature,
                K::ExpiredSignature => TokenError::Expired,
                K::ImmatureSignature => TokenError::NotYetValid,
                K::InvalidIssuer | K::InvalidAudience => TokenError::WrongIssuerOrAudience,
                K::InvalidAlgorithm => TokenError::Algorithm,
                _ => TokenError::Malformed,
            }
        })
    }
}
