use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.get(name).cloned()
}

#[test]
fn defaults_without_file_or_env() {
    let config = Config::load_from(None, env(&[])).unwrap();
    assert_eq!(config.auth.port, 8001);
    assert_eq!(config.auth.access_token_ttl_secs, 900);
    assert_eq!(config.auth.database_url(Path::new("/d")), "sqlite:///d/auth.db");
}

#[test]
fn the_two_services_cannot_share_a_database() {
    let url = "postgres://postgres@127.0.0.1:5432/openchat";
    let error = Config::load_from(
        None,
        env(&[("OPENCHAT_AUTH_DATABASE_URL", url), ("OPENCHAT_CHAT_DATABASE_URL", url)]),
    )
    .unwrap_err();
    assert!(error.to_string().contains("name the same database"), "{error}");
    let other = "postgres://postgres@127.0.0.1:5432/openchat_chat";
    Config::load_from(
        None,
        env(&[("OPENCHAT_AUTH_DATABASE_URL", url), ("OPENCHAT_CHAT_DATABASE_URL", other)]),
    )
    .unwrap();
}

#[test]
fn environment_overrides_file() {
    let dir = std::env::temp_dir().join(format!("oc-config-{}", crate::ids::random_id(8)));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("openchat.toml");
    std::fs::write(&file, "data_dir = \"/x\"\n[auth]\nport = 9000\nopen_registration = false\n").unwrap();
    let config = Config::load_from(
        Some(&file),
        env(&[("OPENCHAT_AUTH_PORT", "9100"), ("OPENCHAT_CORS_ORIGINS", "https://a, https://b")]),
    )
    .unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/x"));
    assert_eq!(config.auth.port, 9100);
    assert!(!config.auth.open_registration);
    assert_eq!(config.auth.cors_origins, vec!["https://a", "https://b"]);
}

#[test]
fn secrets_come_from_file_variables() {
    let dir = std::env::temp_dir().join(format!("oc-secret-{}", crate::ids::random_id(8)));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("pw");
    std::fs::write(&secret, "s3cret-passphrase\n").unwrap();
    let config = Config::load_from(
        None,
        env(&[
            ("OPENCHAT_BOOTSTRAP_ADMIN_USERNAME", "root"),
            ("OPENCHAT_BOOTSTRAP_ADMIN_EMAIL", "root@example.com"),
            ("OPENCHAT_BOOTSTRAP_ADMIN_PASSWORD_FILE", secret.to_str().unwrap()),
        ]),
    )
    .unwrap();
    assert_eq!(config.auth.bootstrap_admin.unwrap().password, "s3cret-passphrase");
}

#[test]
fn local_model_settings_come_from_the_environment() {
    let config = Config::load_from(None, env(&[])).unwrap();
    assert_eq!(config.chat.local, LocalModelConfig::default());
    let config = Config::load_from(
        None,
        env(&[
            ("OPENCHAT_LOCAL_MODEL", "/models/x.gguf"),
            ("OPENCHAT_LOCAL_CONTEXT", "4096"),
            ("OPENCHAT_LOCAL_THREADS", "2"),
            ("OPENCHAT_LOCAL_TEMPERATURE", "0"),
            ("OPENCHAT_LOCAL_TOP_P", "0.5"),
            ("OPENCHAT_LOCAL_SEED", "42"),
        ]),
    )
    .unwrap();
    let local = config.chat.local;
    assert_eq!(local.model, "/models/x.gguf");
    assert_eq!((local.context_length, local.threads, local.seed), (4096, 2, Some(42)));
    assert_eq!((local.temperature, local.top_p), (0.0, 0.5));
    let err = Config::load_from(None, env(&[("OPENCHAT_LOCAL_TEMPERATURE", "warm")])).unwrap_err();
    assert!(err.to_string().contains("OPENCHAT_LOCAL_TEMPERATURE"), "{err}");
    let err = Config::load_from(None, env(&[("OPENCHAT_LOCAL_TOP_P", "1.5")])).unwrap_err();
    assert!(err.to_string().contains("top_p"), "{err}");
    let err = Config::load_from(None, env(&[("OPENCHAT_LOCAL_MAX_TOKENS", "2048")])).unwrap_err();
    assert!(err.to_string().contains("max_tokens"), "{err}");
}

#[test]
fn reply_and_page_bounds_are_read_and_checked() {
    let config = Config::load_from(None, env(&[])).unwrap();
    let chat = &config.chat;
    assert_eq!((chat.max_reply_tokens, chat.max_reply_bytes, chat.max_reply_secs), (4096, 1 << 20, 600));
    assert_eq!((chat.max_stream_line_bytes, chat.max_page_bytes), (1 << 20, 4 << 20));
    let config = Config::load_from(
        None,
        env(&[
            ("OPENCHAT_MAX_REPLY_TOKENS", "100"),
            ("OPENCHAT_MAX_REPLY_BYTES", "2048"),
            ("OPENCHAT_MAX_REPLY_SECS", "5"),
            ("OPENCHAT_MAX_STREAM_LINE_BYTES", "8192"),
            ("OPENCHAT_MAX_PAGE_BYTES", "4096"),
        ]),
    )
    .unwrap();
    let chat = &config.chat;
    assert_eq!((chat.max_reply_tokens, chat.max_reply_bytes, chat.max_reply_secs), (100, 2048, 5));
    assert_eq!((chat.max_stream_line_bytes, chat.max_page_bytes), (8192, 4096));
    for (name, value) in [
        ("OPENCHAT_MAX_REPLY_TOKENS", "0"),
        ("OPENCHAT_MAX_REPLY_BYTES", "10"),
        ("OPENCHAT_MAX_REPLY_SECS", "0"),
        ("OPENCHAT_MAX_STREAM_LINE_BYTES", "100"),
        ("OPENCHAT_MAX_PAGE_BYTES", "100"),
    ] {
        let err = Config::load_from(None, env(&[(name, value)])).unwrap_err();
        assert!(err.to_string().contains("chat.max_"), "{name}: {err}");
    }
}

#[test]
fn empty_variables_count_as_unset() {
    let config = Config::load_from(
        None,
        env(&[("OPENAI_API_KEY", ""), ("OPENAI_BASE_URL", ""), ("OPENCHAT_AUTH_PORT", "")]),
    )
    .unwrap();
    assert!(config.chat.providers.is_empty());
    assert_eq!(config.auth.port, 8001);
}

#[test]
fn bad_values_are_named() {
    let err = Config::load_from(None, env(&[("OPENCHAT_AUTH_PORT", "eighty")])).unwrap_err();
    assert!(err.to_string().contains("OPENCHAT_AUTH_PORT"), "{err}");
    let err = Config::load_from(None, env(&[("OPENCHAT_AUTH_PORT", "99999")])).unwrap_err();
    assert!(err.to_string().contains("port"), "{err}");
}
