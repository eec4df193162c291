//! The authorization server's memory: registered clients, authorization codes, access and
//! refresh tokens, and the counters tests read. Plain data behind the server's mutex — no
//! I/O, no clock of its own (every call is given `now`), so the rules are tested here alone.
//!
//! Codes and tokens are kept by their SHA-256 only: what the store holds cannot be replayed,
//! and every entry has the same small size. Each kind is capped so memory stays bounded: when
//! one is full, expired entries go first; if none has expired, the request is refused
//! ([`Full`]) rather than the map grown.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// Most registered clients (they never expire: registrations stop once this many exist).
pub const MAX_CLIENTS: usize = 1000;
/// Most codes, access tokens and refresh tokens, each.
pub const MAX_ENTRIES: usize = 10_000;
/// How long an authorization code may wait for its exchange (RFC 6749 §4.1.2: short).
pub const CODE_LIFE: Duration = Duration::from_secs(60);
/// How long a refresh token lasts unused. Used ones are kept as long, to recognise a replay.
pub const REFRESH_LIFE: Duration = Duration::from_secs(30 * 24 * 3600);

/// A code or token's SHA-256: how the store keys it.
type Key = [u8; 32];

/// The store has no room left for this kind of entry (nothing in it has expired yet).
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

/// A client registered with RFC 7591 (public: it authenticates with nothing but PKCE).
#[derive(Debug, Clone)]
pub struct Client {
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
}

/// What an authorization code stands for, as the user allowed it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    /// BASE64URL(SHA256(code_verifier)) (RFC 7636 S256).
    pub code_challenge: String,
    pub username: String,
}

/// A token request for a code, as the client sent it.
pub struct Exchange<'a> {
    pub code: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
}

/// A new pair of tokens.
#[derive(Debug)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
}

/// Why a grant (a code or a refresh token) is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// RFC 6749 `invalid_grant`, and why.
    InvalidGrant(&'static str),
    /// No room for the new tokens.
    Full,
}

impl From<Full> for Refusal {
    fn from(Full: Full) -> Self {
        Refusal::Full
    }
}

/// Counters, for tests to check what clients did (`GET /oauth/stats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Clients registered.
    pub registrations: u64,
    /// Authorization codes issued (one per "Allow").
    pub codes_issued: u64,
    /// Access tokens issued, by code exchanges and refreshes alike.
    pub tokens_issued: u64,
    /// Refresh tokens rotated (successful `refresh_token` grants).
    pub refreshes: u64,
    /// A spent code or a rotated-away refresh token presented again.
    pub reuses_detected: u64,
    /// Token families revoked because of such a replay.
    pub families_revoked: u64,
}

struct Code {
    grant: Grant,
    expires: Instant,
    /// Once exchanged: the family it started, until that family is revoked (`None` then).
    spent: Option<Option<u64>>,
}

struct Access {
    family: u64,
    username: String,
    expires: Instant,
}

struct Refresh {
    family: u64,
    client_id: String,
    username: String,
    expires: Instant,
    /// Rotated away: presenting it again means someone holds a copy.
    used: bool,
}

/// Everything the authorization server remembers.
pub struct Store {
    token_life: Duration,
    clients: HashMap<String, Client>,
    codes: HashMap<Key, Code>,
    access: HashMap<Key, Access>,
    refresh: HashMap<Key, Refresh>,
    /// The next family's number: each code exchange starts one, its refreshes continue it.
    next_family: u64,
    stats: Stats,
}

impl Store {
    /// An empty store whose access tokens last `token_life`.
    pub fn new(token_life: Duration) -> Self {
        Self {
            token_life,
            clients: HashMap::new(),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            next_family: 0,
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// A registered client.
    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.get(client_id)
    }

    /// Registers `client`: its new id.
    pub fn register(&mut self, client: Client) -> Result<String, Full> {
        if self.clients.len() >= MAX_CLIENTS {
            return Err(Full);
        }
        let id = secret();
        self.clients.insert(id.clone(), client);
        self.stats.registrations += 1;
        Ok(id)
    }

    /// A new single-use code for `grant`, valid [`CODE_LIFE`].
    pub fn issue_code(&mut self, grant: Grant, now: Instant) -> Result<String, Full> {
        make_room(&mut self.codes, MAX_ENTRIES, now, |c| c.expires)?;
        let code = secret();
        self.codes.insert(key(&code), Code { grant, expires: now + CODE_LIFE, spent: None });
        self.stats.codes_issued += 1;
        Ok(code)
    }

    /// Tokens for a code (RFC 6749 §4.1.3, RFC 7636 §4.6). A refused attempt leaves the code
    /// usable — a wrong guess must not lock its rightful holder out — but a second *successful*
    /// presentation means the code leaked: the tokens it gave are revoked (RFC 6749 §4.1.2).
    pub fn exchange_code(&mut self, request: &Exchange, now: Instant) -> Result<Tokens, Refusal> {
        const UNKNOWN: &str = "unknown or expired authorization code";
        let Some(code) = self.codes.get_mut(&key(request.code)) else {
            return Err(Refusal::InvalidGrant(UNKNOWN));
        };
        if let Some(family) = code.spent {
            code.spent = Some(None);
            self.stats.reuses_detected += 1;
            if let Some(family) = family {
                self.revoke(family);
            }
            return Err(Refusal::InvalidGrant("authorization code already used: its tokens are revoked"));
        }
        if code.expires <= now {
            return Err(Refusal::InvalidGrant(UNKNOWN));
        }
        let grant = &code.grant;
        if grant.client_id != request.client_id {
            return Err(Refusal::InvalidGrant("the code was issued to another client"));
        }
        if grant.redirect_uri != request.redirect_uri {
            return Err(Refusal::InvalidGrant("redirect_uri differs from the authorization request's"));
        }
        if !pkce_matches(request.code_verifier, &grant.code_challenge) {
            return Err(Refusal::InvalidGrant("code_verifier does not match the code_challenge"));
        }
        let (client_id, username) = (grant.client_id.clone(), grant.username.clone());
        let family = self.next_family;
        let tokens = self.issue_tokens(family, client_id, username, now)?;
        self.next_family += 1;
        if let Some(code) = self.codes.get_mut(&key(request.code)) {
            code.spent = Some(Some(family));
        }
        Ok(tokens)
    }

    /// New tokens for a refresh token, which is rotated away (OAuth 2.1 §4.3.1). A token that
    /// was already rotated away is a replay — two holders of one token — so its whole family
    /// is revoked (OAuth 2.0 Security BCP §4.14.2): the thief's tokens and the user's alike.
    pub fn refresh(&mut self, token: &str, client_id: &str, now: Instant) -> Result<Tokens, Refusal> {
        const UNKNOWN: &str = "unknown, expired or revoked refresh token";
        let Some(refresh) = self.refresh.get(&key(token)).filter(|r| r.expires > now) else {
            return Err(Refusal::InvalidGrant(UNKNOWN));
        };
        if refresh.client_id != client_id {
            return Err(Refusal::InvalidGrant("the refresh token was issued to another client"));
        }
        if refresh.used {
            let family = refresh.family;
            self.stats.reuses_detected += 1;
            self.revoke(family);
            return Err(Refusal::InvalidGrant("refresh token reused: its family is revoked"));
        }
        let (family, username) = (refresh.family, refresh.username.clone());
        let tokens = self.issue_tokens(family, client_id.to_owned(), username, now)?;
        if let Some(refresh) = self.refresh.get_mut(&key(token)) {
            refresh.used = true;
        }
        self.stats.refreshes += 1;
        Ok(tokens)
    }

    /// Whom an access token stands for, if it is one of ours, unexpired and unrevoked.
    pub fn caller(&self, access_token: &str, now: Instant) -> Option<&str> {
        let access = self.access.get(&key(access_token)).filter(|a| a.expires > now)?;
        Some(&access.username)
    }

    /// A new access token and refresh token in `family`; nothing is stored unless both fit.
    fn issue_tokens(
        &mut self,
        family: u64,
        client_id: String,
        username: String,
        now: Instant,
    ) -> Result<Tokens, Full> {
        make_room(&mut self.access, MAX_ENTRIES, now, |a| a.expires)?;
        make_room(&mut self.refresh, MAX_ENTRIES, now, |r| r.expires)?;
        let tokens = Tokens { access_token: secret(), refresh_token: secret() };
        let expires = now + self.token_life;
        let access = Access { family, username: username.clone(), expires };
        self.access.insert(key(&tokens.access_token), access);
        let refresh = Refresh { family, client_id, username, expires: now + REFRESH_LIFE, used: false };
        self.refresh.insert(key(&tokens.refresh_token), refresh);
        self.stats.tokens_issued += 1;
        Ok(tokens)
    }

    /// Forgets every token of `family`: its access tokens stop working at once.
    fn revoke(&mut self, family: u64) {
        self.access.retain(|_, a| a.family != family);
        self.refresh.retain(|_, r| r.family != family);
        self.stats.families_revoked += 1;
    }
}

/// Room for one more entry in `map`: when it holds `cap`, expired entries go; if none had
/// expired, [`Full`].
fn make_room<V>(
    map: &mut HashMap<Key, V>,
    cap: usize,
    now: Instant,
    expires: impl Fn(&V) -> Instant,
) -> Result<(), Full> {
    if map.len() >= cap {
        map.retain(|_, v| expires(v) > now);
    }
    if map.len() >= cap { Err(Full) } else { Ok(()) }
}

/// 32 random bytes from the OS, base64url without padding: ids, codes and tokens.
pub fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn key(secret: &str) -> Key {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `verifier` is the secret behind `challenge`: BASE64URL(SHA256(verifier)) (RFC 7636
/// §4.6; S256 is the only method this server takes).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    is_pkce_string(verifier) && URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

/// A code verifier's or challenge's shape (RFC 7636 §4.1): 43 to 128 unreserved characters.
pub fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    /// RFC 7636 Appendix B's example.
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    const TOKEN_LIFE: Duration = Duration::from_secs(60);

    fn store_with_code(now: Instant) -> (Store, String, String) {
        let mut store = Store::new(TOKEN_LIFE);
        let client = Client { name: None, redirect_uris: vec!["http://c/cb".into()] };
        let client_id = store.register(client).unwrap();
        let grant = Grant {
            client_id: client_id.clone(),
            redirect_uri: "http://c/cb".into(),
            code_challenge: CHALLENGE.into(),
            username: "ada".into(),
        };
        let code = store.issue_code(grant, now).unwrap();
        (store, client_id, code)
    }

    fn exchange<'a>(code: &'a str, client_id: &'a str, verifier: &'a str) -> Exchange<'a> {
        Exchange { code, client_id, redirect_uri: "http://c/cb", code_verifier: verifier }
    }

    #[test]
    fn pkce_follows_the_rfc_example() {
        assert!(pkce_matches(VERIFIER, CHALLENGE));
        assert!(!pkce_matches(&VERIFIER.replace('d', "e"), CHALLENGE));
        assert!(!pkce_matches("short", CHALLENGE));
        assert!(!is_pkce_string(&"a".repeat(129)));
        assert!(!is_pkce_string(&format!("{}+", "a".repeat(42))));
    }

    #[test]
    fn a_code_gives_tokens_once_and_a_replay_revokes_them() {
        let now = Instant::now();
        let (mut store, client_id, code) = store_with_code(now);
        let wrong = store.exchange_code(&exchange(&code, &client_id, &VERIFIER.replace('d', "e")), now);
        assert!(matches!(wrong, Err(Refusal::InvalidGrant(_))), "{wrong:?}");
        let other = store.exchange_code(&exchange(&code, "someone-else", VERIFIER), now);
        assert!(matches!(other, Err(Refusal::InvalidGrant(_))), "{other:?}");

        let tokens = store.exchange_code(&exchange(&code, &client_id, VERIFIER), now).unwrap();
        assert_eq!(store.caller(&tokens.access_token, now), Some("ada"));
        let again = store.exchange_code(&exchange(&code, &client_id, VERIFIER), now);
        assert!(matches!(again, Err(Refusal::InvalidGrant(e)) if e.contains("already used")));
        assert_eq!(store.caller(&tokens.access_token, now), None, "revoked");
        assert!(store.refresh(&tokens.refresh_token, &client_id, now).is_err());
        let _ = store.exchange_code(&exchange(&code, &client_id, VERIFIER), now);
        let stats = store.stats();
        assert_eq!((stats.reuses_detected, stats.families_revoked), (2, 1), "{stats:?}");
    }

    #[test]
    fn codes_and_access_tokens_expire() {
        let now = Instant::now();
        let (mut store, client_id, code) = store_with_code(now);
        let late = now + CODE_LIFE;
        assert!(store.exchange_code(&exchange(&code, &client_id, VERIFIER), late).is_err());
        let (mut store, client_id, code) = store_with_code(now);
        let tokens = store.exchange_code(&exchange(&code, &client_id, VERIFIER), now).unwrap();
        let later = now + TOKEN_LIFE;
        assert_eq!(store.caller(&tokens.access_token, later - Duration::from_millis(1)), Some("ada"));
        assert_eq!(store.caller(&tokens.access_token, later), None);
    }

    #[test]
    fn a_rotated_refresh_token_presented_again_revokes_its_family() {
        let now = Instant::now();
        let (mut store, client_id, code) = store_with_code(now);
        let first = store.exchange_code(&exchange(&code, &client_id, VERIFIER), now).unwrap();
        let second = store.refresh(&first.refresh_token, &client_id, now).unwrap();
        assert_eq!(store.caller(&second.access_token, now), Some("ada"));
        assert!(matches!(
            store.refresh(&second.refresh_token, "someone-else", now),
            Err(Refusal::InvalidGrant(_))
        ));

        let replay = store.refresh(&first.refresh_token, &client_id, now);
        assert_eq!(replay.unwrap_err(), Refusal::InvalidGrant("refresh token reused: its family is revoked"));
        assert_eq!(store.caller(&second.access_token, now), None);
        assert_eq!(store.caller(&first.access_token, now), None);
        assert!(store.refresh(&second.refresh_token, &client_id, now).is_err());
        let stats = store.stats();
        assert_eq!(
            stats,
            Stats {
                registrations: 1,
                codes_issued: 1,
                tokens_issued: 2,
                refreshes: 1,
                reuses_detected: 1,
                families_revoked: 1
            }
        );
    }

    #[test]
    fn a_full_store_drops_expired_entries_first_then_refuses() {
        let now = Instant::now();
        let (mut store, client_id, _) = store_with_code(now);
        let grant = |n: usize| Grant {
            client_id: client_id.clone(),
            redirect_uri: "http://c/cb".into(),
            code_challenge: CHALLENGE.into(),
            username: format!("user{n}"),
        };
        for n in 1..MAX_ENTRIES {
            store.issue_code(grant(n), now).unwrap();
        }
        assert_eq!(store.issue_code(grant(0), now), Err(Full));
        assert!(store.issue_code(grant(0), now + CODE_LIFE).is_ok(), "the expired ones made room");
        assert_eq!(store.codes.len(), 1);

        for _ in 1..MAX_CLIENTS {
            store.register(Client { name: None, redirect_uris: vec![] }).unwrap();
        }
        assert_eq!(store.register(Client { name: None, redirect_uris: vec![] }), Err(Full));
    }
}
