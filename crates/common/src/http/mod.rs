//! The HTTP error shape shared by every service, and extractors whose rejections use it.

pub mod docs;
mod error;
mod extract;
pub mod openapi;
pub mod trace;

pub use error::{ApiError, ApiResult};
pub use extract::{Form, Json, Query};

/// A listener whose connections send small writes at once (TCP_NODELAY). Streamed deltas and
/// WebSocket frames are small; without it, Nagle's algorithm meeting the peer's delayed ACK
/// holds them for up to 40 ms.
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, impl FnMut(&mut tokio::net::TcpStream) + Send + 'static> {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::trace!(%error, "cannot set TCP_NODELAY");
        }
    })
}
