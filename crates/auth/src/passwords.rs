//! Password hashing with argon2id in a bounded blocking pool, so a login flood queues instead
//! of starving the async runtime — and the queue itself is bounded: at most `max_waiting`
//! requests wait, each at most `max_wait`; the others are told at once that the server is busy
//! (503 with `Retry-After`), never held and never piled up in memory.

use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

/// Result of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Correct; `rehash` says the stored hash uses old parameters and should be replaced.
    Correct {
        rehash: bool,
    },
    Wrong,
}

/// The hashing queue is full, or the wait for a hashing slot ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub retry_after_secs: u64,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the server is busy checking passwords; try again in {} seconds", self.retry_after_secs)
    }
}

impl From<Busy> for common::http::ApiError {
    fn from(busy: Busy) -> Self {
        common::http::ApiError::service_busy(
            busy.retry_after_secs,
            format!("The server is busy checking passwords; try again in {} seconds", busy.retry_after_secs),
        )
    }
}

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Places in the queue (running or waiting).
    places: Arc<Semaphore>,
    max_wait: Duration,
    /// A hash of a random password, verified against when the user does not exist, so that
    /// unknown users and wrong passwords cost the same time.
    dummy_hash: Arc<String>,
    /// `$argon2id$v=19$m=…,t=…,p=…$`: hashes that do not start with it are re-hashed on login.
    current_prefix: Arc<String>,
}

impl Hasher {
    /// A hasher for a command-line tool: one hash at a time, a queue as long as needed.
    pub fn new(concurrency: usize) -> Self {
        Self::with_queue(concurrency, Semaphore::MAX_PERMITS - concurrency.max(1), Duration::from_secs(3600))
    }

    /// `concurrency` hashes at once, at most `max_waiting` more waiting, each at most `max_wait`.
    pub fn with_queue(concurrency: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let concurrency = concurrency.max(1);
        let dummy = common::ids::random_id(24);
        let dummy_hash = hash_now(&dummy);
        let current_prefix = dummy_hash.rsplitn(3, '$').nth(2).unwrap_or_default().to_owned() + "$";
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            places: Arc::new(Semaphore::new(concurrency.saturating_add(max_waiting))),
            max_wait,
            dummy_hash: Arc::new(dummy_hash),
            current_prefix: Arc::new(current_prefix),
        }
    }

    /// Hashes a new password (argon2id, the crate's OWASP defaults: m=19456 KiB, t=2, p=1).
    pub async fn hash(&self, password: &str) -> Result<String, Busy> {
        let password = password.to_owned();
        self.run(move || hash_now(&password)).await
    }

    /// Checks `password` against `stored` or, when there is no such user, against a dummy hash
    /// (and then always answers `Wrong`).
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verdict, Busy> {
        let known = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.to_owned();
        let ok = self.run(move || verify_now(&password, &hash)).await?;
        Ok(match (known && ok, stored) {
            (true, Some(hash)) => {
                Verdict::Correct { rehash: !hash.starts_with(self.current_prefix.as_str()) }
            }
            _ => Verdict::Wrong,
        })
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let busy = Busy { retry_after_secs: self.max_wait.as_secs().clamp(1, 60) };
        let _place = self.places.try_acquire().map_err(|_| busy)?;
        let permit = tokio::time::timeout(self.max_wait, self.permits.acquire()).await.map_err(|_| busy)?;
        let _permit = permit.expect("the hashing semaphore is never closed");
        Ok(tokio::task::spawn_blocking(work).await.expect("password hashing panicked"))
    }
}

fn hash_now(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with default parameters cannot fail on a bounded password")
        .to_string()
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_flag_old_parameters() {
        let hasher = Hasher::new(2);
        let hash = hasher.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert_eq!(
            hasher.verify("correct horse", Some(&hash)).await.unwrap(),
            Verdict::Correct { rehash: false }
        );
        assert_eq!(hasher.verify("wrong horse", Some(&hash)).await.unwrap(), Verdict::Wrong);
        assert_eq!(hasher.verify("correct horse", None).await.unwrap(), Verdict::Wrong);

        let weak = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse")
        .unwrap()
        .to_string();
        assert_eq!(
            hasher.verify("correct horse", Some(&weak)).await.unwrap(),
            Verdict::Correct { rehash: true }
        );
    }
}
