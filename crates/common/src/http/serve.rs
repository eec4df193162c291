//! The accept loop every port runs: HTTP/1.1 (with upgrades, for WebSockets) through hyper, with
//! a deadline for each request header, a stall limit for request bodies and for writes to a
//! client that does not read, a cap on open connections per port and per client address, and
//! a deadline for the graceful stop.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::config::HttpConfig;

/// What a connection over the cap gets before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 5\r\nconnection: close\r\ncontent-length: 70\r\n\r\n\
{\"detail\":\"The server has too many open connections; try again soon.\"}";
/// What a connection over its address's cap gets before it is closed.
const TOO_MANY_FROM_ADDRESS: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
retry-after: 5\r\nconnection: close\r\ncontent-length: 82\r\n\r\n\
{\"detail\":\"Too many open connections from your address; close some and try again.\"}";

/// A connection's place under the port's cap, in every request's extensions. The connection
/// holds it until it ends; a WebSocket handler keeps a clone for the socket's life, since hyper
/// lets go of an upgraded connection (and would free its place) as soon as it is handed over.
#[derive(Clone)]
pub struct ConnectionSlot {
    _held: Arc<(OwnedSemaphorePermit, Option<AddressSlot>)>,
}

/// The key a client address is counted under: IPv6 clients usually hold a whole /64, so they
/// count per /64 rather than per address; IPv4-mapped IPv6 addresses count as IPv4.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.into(),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                std::net::Ipv6Addr::from(segments).into()
            }
        },
        v4 => v4,
    }
}

/// Open connections per client address (see [`address_key`]).
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
    max: usize,
}

/// One connection's count under its address; given back when dropped.
struct AddressSlot {
    table: Arc<PerAddress>,
    key: IpAddr,
}

impl PerAddress {
    fn take(self: &Arc<Self>, key: IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().expect("connection table lock poisoned");
        let count = open.entry(key).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressSlot { table: self.clone(), key })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().expect("connection table lock poisoned");
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, within the limits of `limits`
/// (connections from the addresses in `proxies` are not capped per address: they carry many
/// clients); then stops accepting, lets in-flight requests finish for up to `shutdown_timeout_secs`, and
/// closes whatever is still open (a stream to a client that never reads included).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: &HttpConfig,
    proxies: &super::TrustedProxies,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let proxies = proxies.clone();
    let per_address =
        Arc::new(PerAddress { open: Mutex::new(HashMap::new()), max: limits.max_connections_per_address });
    let header_timeout = Duration::from_secs(limits.header_timeout_secs);
    let idle = Duration::from_secs(limits.idle_timeout_secs);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let service = tower::ServiceBuilder::new()
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(idle))
        .service(router);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut last_full_warning: Option<Instant> = None;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_error(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Best effort and never waiting: the answer fits any socket buffer.
            let _ = tcp.try_write(BUSY);
            if last_full_warning.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                last_full_warning = Some(Instant::now());
                tracing::warn!(
                    port = listener.local_addr().map(|a| a.port()).unwrap_or_default(),
                    max = limits.max_connections,
                    "too many open connections: refusing new ones (OPENCHAT_HTTP_MAX_CONNECTIONS)"
                );
            }
            continue;
        };
        let address_slot = if limits.max_connections_per_address == 0 || proxies.contains(peer.ip()) {
            None
        } else {
            match per_address.take(address_key(peer.ip())) {
                Some(slot) => Some(slot),
                None => {
                    let _ = tcp.try_write(TOO_MANY_FROM_ADDRESS);
                    continue;
                }
            }
        };
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::trace!(%error, "cannot set TCP_NODELAY");
        }
        let slot = ConnectionSlot { _held: Arc::new((slot, address_slot)) };
        let request_slot = slot.clone();
        let service = service.clone().map_request(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(request_slot.clone());
            request
        });
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let io = TokioIo::new(WriteDeadline::new(tcp, idle));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let connection = builder.serve_connection(io, TowerToHyperService::new(service)).with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::trace!(%error, %peer, "connection ended");
                        }
                        break;
                    }
                    _ = stop.wait_for(|stop| *stop), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let deadline = Duration::from_secs(limits.shutdown_timeout_secs);
    let finished =
        tokio::time::timeout(deadline, async { while connections.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "closing connections still open after the shutdown deadline"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Out of file descriptors or a connection reset before it was accepted: log, pause briefly
/// when the process is out of resources, and go on.
async fn accept_error(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// A TCP stream whose writes fail once they have waited `limit` for a client that does not read
/// (a full send buffer), so a stalled response or WebSocket cannot hold its task forever.
struct WriteDeadline {
    tcp: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    fn new(tcp: TcpStream, limit: Duration) -> Self {
        Self { tcp, limit, stalled: None }
    }

    fn guard<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let limit = self.limit;
                let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if stalled.as_mut().poll(cx).is_ready() {
                    self.stalled = None;
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.guard(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.tcp).poll_flush(cx);
        self.guard(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.tcp).poll_shutdown(cx);
        self.guard(cx, poll)
    }
}
