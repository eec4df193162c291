//! A user's replies in progress are capped: a place is reserved before a reply is stored, on
//! this replica and, in a cluster, across all of them.

use std::sync::Arc;

use super::{Generations, MAX_UNFINISHED_PER_USER};

/// One reply a user may start ([`Generations::reserve`]); given back when dropped unused.
pub struct Reservation {
    pub(super) generations: Arc<Generations>,
    pub(super) owner_id: String,
    pub(super) held: bool,
    /// Its place under the cluster-wide cap, if counted there.
    pub(super) member: Option<String>,
    /// The owner's roles (which shared tool servers the reply may use) and username.
    pub(super) roles: Vec<String>,
    pub(super) username: String,
    /// The access token the reply is asked with.
    pub(super) subject_token: String,
}

impl Reservation {
    pub(super) fn release(&mut self) {
        if std::mem::take(&mut self.held) {
            let mut reserved = self.generations.reserved.lock().expect("reservations lock poisoned");
            if let Some(pending) = reserved.get_mut(&self.owner_id) {
                *pending -= 1;
                if *pending == 0 {
                    reserved.remove(&self.owner_id);
                }
            }
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
        if let (Some(member), Some(cluster)) = (self.member.take(), self.generations.bus.cluster()) {
            cluster.release(&self.owner_id, &member);
        }
    }
}

fn too_many_replies() -> common::http::ApiError {
    common::http::ApiError::too_many_requests(1)
        .with_detail("Too many replies in progress; wait for one to finish")
}

impl Generations {
    /// Reserves one of the owner's `MAX_UNFINISHED_PER_USER` replies (running, queued or
    /// reserved and about to start), or refuses with 429, so nobody can pile up provider calls
    /// (or memory) without bound. Counting and reserving happen under one lock, so parallel
    /// requests cannot all pass the check; the reservation is given back when dropped unused.
    /// In a cluster the replies of every replica count (while Redis answers).
    pub async fn reserve(
        self: &Arc<Self>,
        claims: &common::token::AccessClaims,
        token: &str,
    ) -> Result<Reservation, common::http::ApiError> {
        let owner_id = claims.sub.as_str();
        let mut reservation = self.reserve_here(owner_id)?;
        reservation.roles = claims.roles.clone();
        reservation.username = claims.preferred_username.clone();
        reservation.subject_token = token.to_owned();
        if let Some(cluster) = self.bus.cluster() {
            let member = common::ids::random_id(16);
            match cluster.reserve(owner_id, &member, MAX_UNFINISHED_PER_USER).await {
                Some(true) => reservation.member = Some(member),
                Some(false) => return Err(too_many_replies()),
                None => {} // Redis cannot tell: this replica's own count holds
            }
        }
        Ok(reservation)
    }

    fn reserve_here(self: &Arc<Self>, owner_id: &str) -> Result<Reservation, common::http::ApiError> {
        let running = self.running.lock().expect("generations lock poisoned");
        let mut reserved = self.reserved.lock().expect("reservations lock poisoned");
        let unfinished = running
            .values()
            .filter(|g| g.owner_id == owner_id)
            .filter(|g| g.state.lock().expect("generation lock poisoned").done.is_none())
            .count();
        let pending = reserved.entry(owner_id.to_owned()).or_default();
        if unfinished + *pending >= MAX_UNFINISHED_PER_USER {
            if *pending == 0 {
                reserved.remove(owner_id);
            }
            return Err(too_many_replies());
        }
        *pending += 1;
        Ok(Reservation {
            generations: self.clone(),
            owner_id: owner_id.to_owned(),
            held: true,
            member: None,
            roles: Vec::new(),
            username: String::new(),
            subject_token: String::new(),
        })
    }
}
