//! Random, URL-safe, non-sequential identifiers.

use rand::Rng;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Length of a user id.
pub const USER_ID_LEN: usize = 16;
/// Length of a conversation id.
pub const CONVERSATION_ID_LEN: usize = 12;
/// Length of a message id.
pub const MESSAGE_ID_LEN: usize = 10;

/// A `len`-character id drawn from the operating system's CSPRNG (via `rand`'s thread RNG,
/// which is seeded from it and reseeds itself). 64 symbols, so each character carries 6 bits
/// and there is no modulo bias.
pub fn random_id(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// `n` random bytes from a CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::thread_rng().fill(&mut out[..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_requested_length_and_alphabet() {
        for len in [USER_ID_LEN, CONVERSATION_ID_LEN, MESSAGE_ID_LEN] {
            let id = random_id(len);
            assert_eq!(id.len(), len);
            assert!(id.bytes().all(|b| ALPHABET.contains(&b)), "{id}");
        }
    }

    #[test]
    fn ids_do_not_repeat() {
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| random_id(10)).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
