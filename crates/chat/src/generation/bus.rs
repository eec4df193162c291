//! Where events go: this process's sockets (the [`Hub`]) and, in a cluster, the other
//! replicas' ([`Cluster`]). The generation code publishes through the bus and never asks which
//! of the two it has.

use std::sync::Arc;

use api_types::chat::ServerEvent;

use super::{Hub, Receiver};
use crate::cluster::{Cluster, GenerationMeta};

pub struct Bus {
    hub: Arc<Hub>,
    cluster: Option<Arc<Cluster>>,
}

impl Bus {
    pub fn new(hub: Arc<Hub>, cluster: Option<Arc<Cluster>>) -> Self {
        Self { hub, cluster }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// An event of `owner`'s for every socket of theirs, on every replica.
    pub fn publish(&self, owner: &str, event: ServerEvent) {
        if let Some(cluster) = &self.cluster {
            cluster.publish(owner, &event);
        }
        self.hub.publish(owner, event);
    }

    /// A generation's event: published, and appended to its log for resumes on any replica.
    pub(super) fn record(&self, meta: &GenerationMeta<'_>, event: ServerEvent) {
        if let Some(cluster) = &self.cluster {
            cluster.record(meta, &event);
        }
        self.hub.publish(meta.owner_id, event);
    }

    /// `owner`'s events from now on (in a cluster, once this replica is subscribed to them).
    pub async fn subscribe(&self, owner: &str) -> Receiver {
        let receiver = self.hub.subscribe(owner);
        if let Some(cluster) = &self.cluster {
            cluster.subscribe_user(owner).await;
        }
        receiver
    }
}
