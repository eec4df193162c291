//! `/metrics` on the chat and auth services: valid Prometheus text (parsed by a parser of its
//! own), moved by exactly a known workload, and only for administrators and the scraper; and
//! the same workload in the users' use of the day (`usage_daily`).

use std::collections::HashMap;

use reqwest::StatusCode;

use crate::helpers::{Backend, TestChat};
use crate::tools::reply;
use common::both_backends;

both_backends!(metrics_count_a_known_workload_exactly, metrics_are_only_for_administrators_and_the_scraper,);

const SCRAPER: &str = "a-scraper-token-long-enough-1234567890";

/// Every sample of an exposition, by name and sorted labels (`name{a="1",b="2"}`), read by
/// [`parse`] as Prometheus reads the text format.
async fn scrape(app: &TestChat, base: &str, token: &str) -> HashMap<String, f64> {
    let response = app.client.get(format!("{base}/metrics")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().await.unwrap();
    let samples = parse(&text).unwrap_or_else(|e| panic!("not a valid exposition: {e}\n{text}"));
    assert!(!samples.is_empty());
    samples
}

/// The Prometheus text format (0.0.4), strictly: `# HELP`/`# TYPE` lines, then samples
/// `name{label="value",…} value` whose names belong to a declared family (with `_bucket`,
/// `_sum`, `_count` for histograms), label values with only `\\`, `\"` and `\n` escapes,
/// each series once. Labels are sorted in the keys.
fn parse(text: &str) -> Result<HashMap<String, f64>, String> {
    let name_ok = |n: &str| {
        let mut chars = n.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut families: HashMap<String, String> = HashMap::new();
    let mut samples = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), Some(_)) if name_ok(name) => {}
                (Some("TYPE"), Some(name), Some(kind)) if name_ok(name) => {
                    let known = ["counter", "gauge", "histogram", "summary", "untyped"];
                    if !known.contains(&kind) || families.insert(name.into(), kind.into()).is_some() {
                        return Err(format!("bad or repeated TYPE: {line}"));
                    }
                }
                _ => return Err(format!("bad comment line: {line}")),
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or(format!("no value: {line}"))?;
        let name = &line[..name_end];
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|suffix| name.strip_suffix(suffix))
            .find(|base| families.get(*base).is_some_and(|k| k == "histogram"))
            .unwrap_or(name);
        if !name_ok(name) || !families.contains_key(family) {
            return Err(format!("a sample of no declared family: {line}"));
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            while !rest.starts_with('}') {
                let eq = rest.find("=\"").ok_or(format!("bad label: {line}"))?;
                let label = &rest[..eq];
                if !name_ok(label) || label.contains(':') {
                    return Err(format!("bad label name: {line}"));
                }
                let mut value = String::new();
                let mut chars = rest[eq + 2..].char_indices();
                let end = loop {
                    match chars.next() {
                        Some((i, '"')) => break eq + 2 + i,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, c @ ('\\' | '"'))) => value.push(c),
                            _ => return Err(format!("bad escape: {line}")),
                        },
                        Some((_, c)) => value.push(c),
                        None => return Err(format!("unterminated label value: {line}")),
                    }
                };
                labels.push(format!("{label}=\"{value}\""));
                rest = &rest[end + 1..];
                rest = rest.strip_prefix(',').unwrap_or(rest);
            }
            rest = &rest[1..];
        }
        let mut fields = rest.split_whitespace();
        let value = match fields.next().ok_or(format!("no value: {line}"))? {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            number => number.parse().map_err(|_| format!("bad value: {line}"))?,
        };
        if fields.next().is_some_and(|t| t.parse::<i64>().is_err()) || fields.next().is_some() {
            return Err(format!("bad timestamp: {line}"));
        }
        labels.sort();
        if samples.insert(format!("{name}{{{}}}", labels.join(",")), value).is_some() {
            return Err(format!("a series twice: {line}"));
        }
    }
    Ok(samples)
}

fn moved(before: &HashMap<String, f64>, after: &HashMap<String, f64>, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

async fn metrics_count_a_known_workload_exactly(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let admin = app.admin().await;
    let alice = app.user("alice").await;
    let before = scrape(&app, &app.base, &admin).await;

    // Two replies that complete, one the provider refuses.
    let mut frames = reply(&app, &alice, "alice", "[[words=3]]").await;
    frames.extend(reply(&app, &alice, "alice", "[[words=5]]").await);
    let failed = reply(&app, &alice, "alice", "[[status=500]]").await;
    assert_eq!(failed.last().unwrap()["status"], "failed", "{failed:?}");
    let (mut prompt, mut completion) = (0.0, 0.0);
    for done in frames.iter().filter(|f| f["type"] == "generation_done") {
        assert_eq!(done["status"], "complete");
        prompt += done["usage"]["prompt_tokens"].as_f64().unwrap();
        completion += done["usage"]["completion_tokens"].as_f64().unwrap();
    }
    assert!(prompt > 0.0 && completion > 0.0);
    // Three reads of one conversation's messages.
    let conversation = app.conversation(&alice, "Read").await;
    for _ in 0..3 {
        let (status, _) = app.get(&format!("/api/v1/conversations/{conversation}/messages"), &alice).await;
        assert_eq!(status, StatusCode::OK);
    }

    let after = scrape(&app, &app.base, &admin).await;
    let model = "model=\"fake-model\"";
    let key = |name: &str, labels: &[&str]| {
        let mut labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        labels.sort();
        format!("{name}{{{}}}", labels.join(","))
    };
    assert_eq!(moved(&before, &after, &key("openchat_replies_total", &[model, "status=\"complete\""])), 2.0);
    assert_eq!(moved(&before, &after, &key("openchat_replies_total", &[model, "status=\"failed\""])), 1.0);
    let tokens = |kind: &str| {
        let kind = format!("kind=\"{kind}\"");
        moved(&before, &after, &key("openchat_tokens_total", &[model, "provider=\"fake\"", &kind]))
    };
    assert_eq!((tokens("prompt"), tokens("completion")), (prompt, completion));
    let errors = key("openchat_provider_errors_total", &["kind=\"upstream\"", "provider=\"fake\""]);
    assert_eq!(moved(&before, &after, &errors), 1.0);
    let first_tokens = key("openchat_time_to_first_token_seconds_bucket", &["le=\"+Inf\"", model]);
    assert_eq!(moved(&before, &after, &first_tokens), 2.0, "{after:?}");
    let reads = key(
        "openchat_http_requests_total",
        &["method=\"GET\"", "route=\"/api/v1/conversations/{id}/messages\"", "status=\"200\""],
    );
    assert_eq!(
        moved(&before, &after, &reads),
        3.0,
        "{:?}",
        after.keys().filter(|k| k.contains("http_requests")).collect::<Vec<_>>()
    );
    assert!(after.contains_key("openchat_db_connections{}"), "{after:?}");
    assert!(after.contains_key("openchat_websockets_open{}"));

    // Each reply is added to its owner's use of the day, by model and provider.
    let today = chat::store::day_of(common::clock::now_millis());
    let sub = crate::identity::claims_of(&alice)["sub"].as_str().unwrap().to_owned();
    let rows = app.chat_state.db.usage_between(today - 1, today).await.unwrap();
    let theirs: Vec<_> = rows.iter().filter(|r| r.user_id == sub).collect();
    assert!(
        theirs.iter().all(|r| (r.model.as_str(), r.provider.as_str()) == ("fake-model", "fake")),
        "{rows:?}"
    );
    let sum = |field: fn(&chat::store::UsageRecord) -> i64| theirs.iter().map(|r| field(r)).sum::<i64>();
    assert_eq!((sum(|r| r.replies), sum(|r| r.failed), sum(|r| r.first_tokens)), (3, 1, 2), "{rows:?}");
    assert_eq!(sum(|r| r.prompt_tokens) as f64, prompt);
    assert_eq!(sum(|r| r.completion_tokens) as f64, completion);
    assert!(rows.iter().all(|r| r.user_id == sub), "only alice replied: {rows:?}");

    // The auth server counts its own requests: the logins above among them.
    let auth = scrape(&app, &app.auth, &admin).await;
    let logins =
        key("openchat_http_requests_total", &["method=\"POST\"", "route=\"/auth/token\"", "status=\"200\""]);
    assert!(auth.get(&logins).copied().unwrap_or(0.0) >= 2.0, "{:?}", auth.keys().collect::<Vec<_>>());
}

async fn metrics_are_only_for_administrators_and_the_scraper(backend: Backend) {
    let app = TestChat::spawn_with(backend, |config| config.metrics_token = SCRAPER.into()).await;
    let alice = app.user("alice").await;
    for base in [&app.base, &app.auth] {
        let url = format!("{base}/metrics");
        let anonymous = app.client.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let user = app.client.get(&url).bearer_auth(&alice).send().await.unwrap();
        assert_eq!(user.status(), StatusCode::FORBIDDEN);
        let body: serde_json::Value = user.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().contains("administrators"), "{body}");
        let wrong = app.client.get(&url).bearer_auth("not-the-token").send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        scrape(&app, base, SCRAPER).await;
    }
}

#[test]
fn the_exposition_parser_is_strict() {
    let good = "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"b{c}\\\"\",d=\"\"} 2\n";
    assert_eq!(parse(good).unwrap()["x_total{a=\"b{c}\"\",d=\"\"}"], 2.0);
    for bad in [
        "x_total 1\n",
        "# TYPE x counter\nx{a=\"1} 1\n",
        "# TYPE x counter\nx 1 2 3\n",
        "# TYPE x counter\nx{a=\"\\q\"} 1\n",
        "# TYPE x counter\nx 1\nx 2\n",
        "# TYPE x counter\nx one\n",
        "# TYPE x meter\nx 1\n",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}
