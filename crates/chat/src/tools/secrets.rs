//! Secrets kept for MCP servers (a static header value today, OAuth tokens later), sealed at
//! rest with AES-256-GCM under a key derived from the service's secrets key
//! (`chat.secrets_key`, else `<data_dir>/secrets.key`). The server id is bound in as associated
//! data, so a sealed value copied onto another server's row does not open.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Seals and opens secrets.
pub struct Sealer {
    key: LessSafeKey,
    random: SystemRandom,
}

#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be opened (was the secrets key changed?)")]
pub struct OpenError;

/// Sealed values start with this, so another format can come later.
const VERSION: &str = "v1.";

impl Sealer {
    /// A sealer for the secrets key `secret` (any string of at least 32 characters).
    pub fn new(secret: &str) -> Self {
        let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"openchat secrets");
        let prk = salt.extract(secret.as_bytes());
        let okm =
            prk.expand(&[b"mcp server secrets"], &AES_256_GCM).expect("one AES-256 key is a valid length");
        let key = LessSafeKey::new(UnboundKey::from(okm));
        Self { key, random: SystemRandom::new() }
    }

    /// `value` sealed for the row `id`: `v1.` and the nonce and ciphertext, base64url.
    pub fn seal(&self, id: &str, value: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).expect("the system's random source works");
        let mut data = value.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(id.as_bytes()),
                &mut data,
            )
            .expect("a secret of at most a few KiB seals");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// The value sealed for the row `id`.
    pub fn open(&self, id: &str, sealed: &str) -> Result<String, OpenError> {
        let bytes =
            sealed.strip_prefix(VERSION).and_then(|b| URL_SAFE_NO_PAD.decode(b).ok()).ok_or(OpenError)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut data = data.to_vec();
        let plain =
            self.key.open_in_place(nonce, Aad::from(id.as_bytes()), &mut data).map_err(|_| OpenError)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "a test secrets key of at least thirty-two characters";

    #[test]
    fn a_sealed_secret_opens_only_for_its_row_and_key() {
        let sealer = Sealer::new(KEY);
        let sealed = sealer.seal("server-1", "Bearer s3cret");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("s3cret"));
        assert_eq!(sealer.open("server-1", &sealed).unwrap(), "Bearer s3cret");
        // Sealed twice, the same value differs (a fresh nonce each time).
        assert_ne!(sealer.seal("server-1", "Bearer s3cret"), sealed);
        // Another row, another key, or a changed byte: refused.
        assert!(sealer.open("server-2", &sealed).is_err());
        assert!(Sealer::new(&format!("{KEY}!")).open("server-1", &sealed).is_err());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(sealer.open("server-1", &String::from_utf8(tampered).unwrap()).is_err());
        assert!(sealer.open("server-1", "v1.").is_err());
        assert!(sealer.open("server-1", "plain text").is_err());
    }
}
