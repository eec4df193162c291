//! Short locks held across replicas: `SET key token NX PX ttl`, released only by their holder
//! (compare and delete), so a lock that expired and was taken by another replica is never
//! released by the first. They bound work that must happen once in the whole cluster, such as
//! redeeming a refresh token (`tools::oauth`).

use std::sync::Arc;
use std::time::Duration;

use super::Cluster;

/// Deletes the lock if it still holds this token.
const RELEASE: &str = r"
    if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0
";

/// How often a busy lock is tried again.
const RETRY: Duration = Duration::from_millis(50);

/// What taking a lock came to.
pub enum Locked {
    /// Held until dropped (or until its time-to-live passes).
    Held(ClusterLock),
    /// Another holder kept it for the whole wait.
    Busy,
    /// Redis cannot be reached: nobody can tell who holds it.
    Unavailable,
}

/// A lock this replica holds.
pub struct ClusterLock {
    cluster: Arc<Cluster>,
    key: String,
    token: String,
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        let mut release = redis::cmd("EVAL");
        release.arg(RELEASE).arg(1).arg(&self.key).arg(&self.token);
        self.cluster.enqueue(vec![release]);
    }
}

impl Cluster {
    /// Takes the lock `name` for at most `ttl`, waiting up to `wait` while another holds it.
    pub async fn lock(self: &Arc<Self>, name: &str, ttl: Duration, wait: Duration) -> Locked {
        let key = format!("oc:lock:{name}");
        let token = common::ids::random_id(20);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let Some(mut connection) = self.commands() else { return Locked::Unavailable };
            let mut set = redis::cmd("SET");
            set.arg(&key).arg(&token).arg("NX").arg("PX").arg(ttl.as_millis() as u64);
            let taken = set.query_async::<Option<String>>(&mut connection);
            match tokio::time::timeout(Duration::from_secs(2), taken).await {
                Ok(Ok(Some(_))) => {
                    return Locked::Held(ClusterLock { cluster: self.clone(), key, token });
                }
                Ok(Ok(None)) => {}
                _ => return Locked::Unavailable,
            }
            if tokio::time::Instant::now() + RETRY > deadline {
                return Locked::Busy;
            }
            tokio::time::sleep(RETRY).await;
        }
    }
}
