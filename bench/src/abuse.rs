//! `abuse`: what honest users see while the platform is attacked (figures in
//! docs/benchmarks.md). Honest clients, from 127.0.0.1, read their account (auth), list their
//! conversations (chat), log in, and ask for replies over a WebSocket, measured first alone and
//! then during an attack from other loopback addresses: slow connections that send half a
//! request header and hold it (reopened as soon as they are cut or refused), WebSockets whose
//! clients never read while their users' replies stream, and a flood of wrong passwords for the
//! honest user's own account. Loopback only: every 127.x.y.z address reaches this machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::server::Server;
use crate::{percentile, ws};

const PHASE: Duration = Duration::from_secs(15);
const HONEST: [u8; 4] = [127, 0, 0, 1];

/// Attack settings: how many slow connections from how many addresses (split evenly).
pub struct Attack {
    pub slow_connections: usize,
    pub slow_addresses: u8,
    pub stalled_sockets: usize,
    pub login_flooders: usize,
}

pub async fn run(server: &Server, attack: Attack) {
    let alice = server.user("alice").await;
    let conversation = server.conversation(&alice).await;
    for _ in 0..20 {
        server.conversation(&alice).await;
    }
    println!(
        "== abuse: {} slow connections from {} address(es), {} sockets that never read, {} login flooders",
        attack.slow_connections, attack.slow_addresses, attack.stalled_sockets, attack.login_flooders
    );
    let quiet = honest_load(server, &alice, &conversation).await;
    let rss_before = server.rss_kib();
    quiet.print("alone", rss_before, rss_before);

    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let mut attackers = JoinSet::new();
    start_stalled_sockets(server, &attack, &stop, &mut attackers).await;
    start_slow_connections(server, &attack, &stop, &counters, &mut attackers);
    start_login_flood(server, &attack, &stop, &counters, &mut attackers);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        let pid = server.pid();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_of(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let attacked = honest_load(server, &alice, &conversation).await;
    sampler.abort();
    attacked.print("under attack", rss_before, peak.load(Ordering::Relaxed));
    println!(
        "   attackers: slow connections opened {} (refused at once {}), wrong passwords sent {} ({} answered 429)",
        counters.slow_opened.load(Ordering::Relaxed),
        counters.slow_refused.load(Ordering::Relaxed),
        counters.logins.load(Ordering::Relaxed),
        counters.logins_throttled.load(Ordering::Relaxed),
    );
    stop.store(true, Ordering::Relaxed);
    attackers.abort_all();
    while attackers.join_next().await.is_some() {}
    tokio::time::sleep(Duration::from_secs(12)).await;
    println!("   RSS 12 s after the attack stopped: {:.1} MiB", server.rss_kib() as f64 / 1024.0);
}

fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Counters {
    slow_opened: AtomicU64,
    slow_refused: AtomicU64,
    logins: AtomicU64,
    logins_throttled: AtomicU64,
}

/// Latencies (ms) and failures of each honest action over one phase.
#[derive(Default)]
struct Honest {
    me: Samples,
    list: Samples,
    login: Samples,
    first_token: Samples,
}

#[derive(Default)]
struct Samples {
    ms: Vec<f64>,
    failed: usize,
    /// Why they failed: an HTTP status, `error` (no answer) or a WebSocket error code.
    reasons: std::collections::BTreeMap<String, usize>,
}

impl Samples {
    fn fail(&mut self, reason: impl Into<String>) {
        self.failed += 1;
        *self.reasons.entry(reason.into()).or_default() += 1;
    }

    fn line(&mut self, name: &str) -> String {
        self.ms.sort_by(f64::total_cmp);
        let reasons: Vec<String> = self.reasons.iter().map(|(why, n)| format!("{why} ×{n}")).collect();
        let failed = if self.failed == 0 {
            "0 failed".to_owned()
        } else {
            format!("{} failed ({})", self.failed, reasons.join(", "))
        };
        if self.ms.is_empty() {
            return format!("{name}: none succeeded, {failed}");
        }
        format!(
            "{name}: {} ok, {failed}, p50 {:.2} ms, p99 {:.2} ms",
            self.ms.len(),
            percentile(&self.ms, 0.5),
            percentile(&self.ms, 0.99)
        )
    }
}

impl Honest {
    fn print(mut self, phase: &str, rss_before: u64, rss: u64) {
        println!(
            "-- honest users {phase} ({} s; server RSS {:.1} MiB, before the attack {:.1} MiB)",
            PHASE.as_secs(),
            rss as f64 / 1024.0,
            rss_before as f64 / 1024.0
        );
        println!("   {}", self.me.line("GET /users/me (auth)"));
        println!("   {}", self.list.line("GET /api/v1/conversations/ (chat)"));
        println!("   {}", self.login.line("POST /auth/token, the right password"));
        println!("   {}", self.first_token.line("WebSocket reply, time to first delta"));
    }
}

fn client_from(source: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(source))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn timed(samples: &mut Samples, request: reqwest::RequestBuilder) {
    let started = Instant::now();
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            let _ = response.bytes().await;
            samples.ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(response) => samples.fail(response.status().as_u16().to_string()),
        Err(_) => samples.fail("no answer"),
    }
}

/// `GET url` with `token`, again and again until `until`, in a task of its own.
fn repeat_get(
    client: &reqwest::Client,
    url: String,
    token: &str,
    until: Instant,
) -> tokio::task::JoinHandle<Samples> {
    let (client, token) = (client.clone(), token.to_owned());
    tokio::spawn(async move {
        let mut samples = Samples::default();
        while Instant::now() < until {
            timed(&mut samples, client.get(&url).bearer_auth(&token)).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        samples
    })
}

/// The honest users' actions, each in its own loop, for one phase.
async fn honest_load(server: &Server, token: &str, conversation: &str) -> Honest {
    let until = Instant::now() + PHASE;
    let client = client_from(HONEST);
    let me = repeat_get(&client, format!("{}/users/me", server.auth_url()), token, until);
    let list = repeat_get(&client, server.url("/api/v1/conversations/"), token, until);
    let login = {
        let (client, url) = (client.clone(), format!("{}/auth/token", server.auth_url()));
        tokio::spawn(async move {
            let mut samples = Samples::default();
            while Instant::now() < until {
                let form = [("username", "alice"), ("password", "bench-password-1")];
                timed(&mut samples, client.post(&url).form(&form)).await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            samples
        })
    };
    let first_token = {
        let url = server.ws_url(&format!("/ws/chat/alice?token={token}"));
        let conversation = conversation.to_owned();
        tokio::spawn(async move {
            let mut samples = Samples::default();
            let Some(mut socket) = ws::try_connect(&url).await else {
                samples.fail("no socket");
                return samples;
            };
            while Instant::now() < until {
                let started = Instant::now();
                let data = json!({"conversation_id": conversation, "content": "[[words=20]]"});
                ws::send(&mut socket, "send_message", data).await;
                let mut first = None;
                let mut why = "no delta in 10 s".to_owned();
                loop {
                    let frame = match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => {
                            serde_json::from_str::<serde_json::Value>(&text).unwrap()
                        }
                        Ok(Some(Ok(_))) => continue,
                        _ => break,
                    };
                    match frame["type"].as_str() {
                        Some("delta") if first.is_none() => first = Some(started.elapsed()),
                        Some("generation_done") => break,
                        Some("error") => {
                            why = frame["code"].as_str().unwrap_or("error").to_owned();
                            break;
                        }
                        _ => {}
                    }
                }
                match first {
                    Some(at) => samples.ms.push(at.as_secs_f64() * 1000.0),
                    None => samples.fail(why),
                }
                // One a second: well within a user's message rate (60 a minute).
                tokio::time::sleep(Duration::from_millis(1000)).await;
            }
            samples
        })
    };
    Honest {
        me: me.await.unwrap(),
        list: list.await.unwrap(),
        login: login.await.unwrap(),
        first_token: first_token.await.unwrap(),
    }
}

async fn connect_from(source: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::new(Ipv4Addr::from(source).into(), 0))?;
    socket.connect(to).await
}

/// Each slow connection sends half a request header and waits; when the server cuts it (the
/// header timeout) or refuses it (a cap), it is opened again at once.
fn start_slow_connections(
    server: &Server,
    attack: &Attack,
    stop: &Arc<AtomicBool>,
    counters: &Arc<Counters>,
    set: &mut JoinSet<()>,
) {
    let to: SocketAddr = server.url("").trim_start_matches("http://").parse().unwrap();
    for n in 0..attack.slow_connections {
        let source = [127, 0, 1, 1 + (n % usize::from(attack.slow_addresses)) as u8];
        let (stop, counters) = (stop.clone(), counters.clone());
        set.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut tcp) = connect_from(source, to).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                counters.slow_opened.fetch_add(1, Ordering::Relaxed);
                let opened = Instant::now();
                let _ = tcp.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await;
                let mut buf = [0u8; 512];
                let _ = tokio::io::AsyncReadExt::read(&mut tcp, &mut buf).await;
                if opened.elapsed() < Duration::from_secs(1) {
                    counters.slow_refused.fetch_add(1, Ordering::Relaxed);
                    // Refused at once: come back soon, as an attacker would.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
    }
}

/// Sockets with a tiny receive window that never read, each watching its user's replies, ten
/// users with a long reply streaming each.
async fn start_stalled_sockets(
    server: &Server,
    attack: &Attack,
    stop: &Arc<AtomicBool>,
    set: &mut JoinSet<()>,
) {
    let users = attack.stalled_sockets.div_ceil(10);
    let to: SocketAddr = server.url("").trim_start_matches("http://").parse().unwrap();
    for u in 0..users {
        let name = format!("mallory{u}");
        let token = server.user(&name).await;
        let conversation = server.conversation(&token).await;
        for _ in 0..10.min(attack.stalled_sockets - u * 10) {
            let url = server.ws_url(&format!("/ws/{conversation}?token={token}"));
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            socket.bind(SocketAddr::new(Ipv4Addr::new(127, 0, 2, 1).into(), 0)).unwrap();
            let Ok(tcp) = socket.connect(to).await else { continue };
            if let Ok((client, _)) = tokio_tungstenite::client_async(url, tcp).await {
                // Held, never read; dropped when the attack stops.
                set.spawn(async move {
                    let _client = client;
                    std::future::pending::<()>().await;
                });
            }
        }
        // The user's replies keep coming: a long one streaming, then another.
        let url = server.ws_url(&format!("/ws/chat/{name}?token={token}"));
        let stop = stop.clone();
        set.spawn(async move {
            let Some(mut socket) = ws::try_connect(&url).await else { return };
            while !stop.load(Ordering::Relaxed) {
                let data = json!({"conversation_id": conversation, "content": "[[words=3000]][[delay=3]]"});
                if socket
                    .send(Message::text(json!({"action": "send_message", "data": data}).to_string()))
                    .await
                    .is_err()
                {
                    return;
                }
                while let Some(Ok(frame)) = socket.next().await {
                    if frame
                        .to_text()
                        .is_ok_and(|t| t.contains("\"generation_done\"") || t.contains("\"error\""))
                    {
                        break;
                    }
                }
            }
        });
    }
}

/// Wrong passwords for the honest user's account, as fast as the server answers.
fn start_login_flood(
    server: &Server,
    attack: &Attack,
    stop: &Arc<AtomicBool>,
    counters: &Arc<Counters>,
    set: &mut JoinSet<()>,
) {
    let url = format!("{}/auth/token", server.auth_url());
    for _ in 0..attack.login_flooders {
        let client = client_from([127, 0, 3, 1]);
        let (url, stop, counters) = (url.clone(), stop.clone(), counters.clone());
        set.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let form = [("username", "alice"), ("password", "not-her-password")];
                match client.post(&url).form(&form).send().await {
                    Ok(response) => {
                        counters.logins.fetch_add(1, Ordering::Relaxed);
                        if response.status() == 429 {
                            counters.logins_throttled.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
    }
}
