//! A running call, followed: its progress reports passed on while it runs, and the server told
//! (`notifications/cancelled`) when it is given up.

use rmcp::RoleClient;
use rmcp::model::{CancelledNotificationParam, ProgressToken, RequestId};
use rmcp::service::Peer;

use super::{CallProgress, Session};

impl Session {
    /// Follows the progress reports of the call with this token, until the result is dropped.
    pub(super) fn watch_progress(&self, token: &ProgressToken) -> Watched<'_> {
        let (sender, receiver) = tokio::sync::watch::channel(None);
        self.progress.lock().expect("progress lock poisoned").insert(token.clone(), sender);
        Watched { session: self, token: token.clone(), receiver }
    }
}

/// A call whose progress is followed.
pub(super) struct Watched<'a> {
    session: &'a Session,
    token: ProgressToken,
    pub(super) receiver: tokio::sync::watch::Receiver<Option<CallProgress>>,
}

impl Drop for Watched<'_> {
    fn drop(&mut self) {
        self.session.progress.lock().expect("progress lock poisoned").remove(&self.token);
    }
}

/// Tells the server (`notifications/cancelled`) when a call is given up before its answer.
pub(super) struct Abandoned {
    pub(super) peer: Peer<RoleClient>,
    pub(super) id: Option<RequestId>,
}

impl Drop for Abandoned {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let peer = self.peer.clone();
        let reason = Some("the caller gave up waiting for the result".to_owned());
        tokio::spawn(async move {
            let _ = peer.notify_cancelled(CancelledNotificationParam::new(Some(id), reason)).await;
        });
    }
}
