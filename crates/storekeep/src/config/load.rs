//! Loading: defaults, then the file, then the environment, collecting
//! every problem.

use std::path::Path;

use super::Settings;
use super::keys::{KEYS, env_name, is_secret};

/// Reads a secret from the file a `*_file` key names; a trailing newline
/// (as `echo` writes) is dropped.
fn read_secret_file(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path.trim())
        .map_err(|e| format!("cannot read secret file '{}': {e}", path.trim()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// The result of loading: the settings if there was no problem, every
/// problem otherwise, and warnings either way.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Result<Settings, Vec<String>>,
    pub warnings: Vec<String>,
}

/// Loads settings from defaults, `file` and `env` (pass `std::env::vars()`).
pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Loaded {
    let mut settings = Settings::default();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    if let Some(path) = file {
        match std::fs::read_to_string(path) {
            Err(e) => problems.push(format!("{}: cannot read: {e}", path.display())),
            Ok(text) => match text.parse::<toml::Table>() {
                Err(e) => problems.push(format!("{}: {}", path.display(), toml_problem(&text, &e))),
                Ok(table) => {
                    let mut flat = Vec::new();
                    flatten("", &table, &mut flat);
                    for (key, value) in flat {
                        let source = format!("{}: {key}", path.display());
                        match value {
                            Ok(v) => apply(&mut settings, &key, &v, &source, &mut problems),
                            Err(m) => problems.push(format!("{source} {m}")),
                        }
                    }
                }
            },
        }
    }

    let mut env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("STOREKEEP_"))
        .collect();
    env.sort();
    for (name, value) in env {
        if name == "STOREKEEP_CONFIG" || name.starts_with("STOREKEEP_TEST_") {
            continue;
        }
        let key = KEYS.iter().map(|(k, _, _)| *k).find(|k| {
            env_name(k) == name || (is_secret(k) && format!("{}_FILE", env_name(k)) == name)
        });
        match key {
            Some(k) if name.ends_with("_FILE") && env_name(k) != name => {
                apply(
                    &mut settings,
                    &format!("{k}_file"),
                    &value,
                    &name,
                    &mut problems,
                );
            }
            Some(k) => apply(&mut settings, k, &value, &name, &mut problems),
            None => warnings.push(format!("{name} is not a storekeep setting and is ignored")),
        }
    }

    match (&settings.encryption_keys, &settings.blind_index_key) {
        (Some(k), Some(i)) => {
            if let Err(m) = crate::crypto::Keyring::parse(k.expose(), i.expose()) {
                problems.push(format!("encryption: {m}"));
            }
        }
        (None, None) => {}
        _ => problems
            .push("encryption.keys and encryption.blind_index_key must be set together".into()),
    }
    if settings.database_direct_url.is_some()
        && settings.database_url().expose().starts_with("sqlite:")
    {
        problems.push(
            "database.direct_url is for PostgreSQL behind a connection pooler; database.url is SQLite"
                .into(),
        );
    }
    if settings.database_replica_url.is_some()
        && settings.database_url().expose().starts_with("sqlite:")
    {
        problems.push(
            "database.replica_url is a PostgreSQL streaming replica; database.url is SQLite, which has none"
                .into(),
        );
    }
    if settings.redis_ca_file.is_some()
        && !settings
            .redis_url
            .as_ref()
            .is_some_and(|u| u.expose().starts_with("rediss://"))
    {
        problems.push(
            "redis.ca_file is trusted for a TLS connection to Redis; redis.url must then start with rediss://"
                .into(),
        );
    }
    // A backup destination overlapping the media store is not refused
    // here: only `backup create` and the scheduled run refuse it (see
    // `BackupSettings::media_overlap`), so that existing backups can
    // still be listed and restored after an upgrade.

    Loaded {
        settings: if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        },
        warnings,
    }
}

/// Sets `key` (or, for `secret_file`, the secret it points at) and records
/// a problem naming `source` if the value is refused.
fn apply(
    settings: &mut Settings,
    key: &str,
    value: &str,
    source: &str,
    problems: &mut Vec<String>,
) {
    let result = match key.strip_suffix("_file") {
        Some(base) if is_secret(base) => {
            read_secret_file(value).and_then(|secret| settings.set(base, &secret))
        }
        _ => settings.set(key, value),
    };
    if let Err(message) = result {
        // Never echo a secret's value back.
        problems.push(format!("{source} {message}"));
    }
}

/// Turns nested TOML tables into dotted keys with textual values.
/// What is wrong with a TOML text, by line and column: toml's own message
/// quotes the offending line, which may hold a secret, so only its
/// description of the error is kept.
pub fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return format!("not valid TOML: {}", e.message().trim());
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(
        "not valid TOML at line {line}, column {column}: {}",
        e.message().trim()
    )
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, Result<String, String>)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let value = match v {
            toml::Value::Table(t) => {
                flatten(&key, t, out);
                continue;
            }
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            toml::Value::Float(f) => Ok(f.to_string()),
            _ => Err("must be a string, number or boolean".to_owned()),
        };
        out.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_setting_is_documented_in_keys() {
        let s = Settings::default();
        let defaults = format!("{s:?}");
        // Each field of Settings is reachable through at least one key.
        for field in [
            "listen",
            "data_dir",
            "database_url",
            "database_max_connections",
            "database_acquire_timeout",
            "base_domain",
            "platform_token",
            "log_format",
            "log_level",
            "request_timeout",
            "body_limit_bytes",
            "drain",
            "grace",
            "encryption_keys",
            "blind_index_key",
            "session_ttl",
            "session_idle",
            "trusted_proxies",
            "redis_url",
        ] {
            assert!(defaults.contains(field), "{field} is not a Settings field");
        }
        for key in [
            "encryption.keys",
            "encryption.blind_index_key",
            "auth.session_ttl_hours",
            "auth.session_idle_hours",
            "http.trusted_proxies",
            "redis.url",
        ] {
            assert!(
                KEYS.iter().any(|(k, _, _)| *k == key),
                "{key} missing from KEYS"
            );
        }
    }

    #[test]
    fn every_documented_key_has_an_environment_variable_that_is_accepted() {
        for (key, _, _) in KEYS {
            let mut s = Settings::default();
            let err = s.set(key, "").err().unwrap_or_default();
            assert_ne!(
                err, "is not a known setting",
                "{key} is documented but not handled"
            );
        }
    }

    #[test]
    fn environment_overrides_the_file_and_every_problem_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("storekeep.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\n[http]\nrequest_timeout_secs = 0\nbody_limit_bytes = 10\n",
        )
        .unwrap();
        let loaded = load(
            Some(&file),
            env(&[
                ("STOREKEEP_LISTEN", "nonsense"),
                ("STOREKEEP_HTTP_BODY_LIMIT_BYTES", "20"),
            ]),
        );
        let problems = loaded.settings.unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("http.request_timeout_secs must be greater than zero"));
        assert!(problems[1].contains("STOREKEEP_LISTEN 'nonsense' is not an address"));
    }

    #[test]
    fn database_statement_timeout_and_direct_url_are_checked() {
        let loaded = load(
            None,
            env(&[
                ("STOREKEEP_DATABASE_URL", "postgres://u@db/shop"),
                ("STOREKEEP_DATABASE_STATEMENT_TIMEOUT_MS", "0"),
                ("STOREKEEP_DATABASE_DIRECT_URL", "postgres://u@primary/shop"),
            ]),
        );
        let s = loaded.settings.unwrap();
        assert_eq!(s.database_statement_timeout, None, "0: the server's own");
        assert_eq!(
            s.database_session_url().expose(),
            "postgres://u@primary/shop"
        );
        assert_eq!(
            Settings::default().database_statement_timeout,
            Some(std::time::Duration::from_secs(60))
        );

        let problems = load(
            None,
            env(&[
                ("STOREKEEP_DATABASE_STATEMENT_TIMEOUT_MS", "soon"),
                ("STOREKEEP_DATABASE_DIRECT_URL", "mysql://x"),
            ]),
        )
        .settings
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains(
                "STOREKEEP_DATABASE_STATEMENT_TIMEOUT_MS 'soon' is not a number of milliseconds"
            )),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("STOREKEEP_DATABASE_DIRECT_URL")
                    && p.contains("must start with postgres://")),
            "{problems:?}"
        );

        let problems = load(
            None,
            env(&[("STOREKEEP_DATABASE_DIRECT_URL", "postgres://u@primary/shop")]),
        )
        .settings
        .unwrap_err();
        assert!(
            problems[0].contains("database.direct_url is for PostgreSQL"),
            "{problems:?}"
        );
    }

    #[test]
    fn database_replica_settings_are_read_and_checked() {
        let defaults = Settings::default();
        assert!(defaults.database_replica_url.is_none());
        assert_eq!(
            defaults.database_replica_max_lag,
            std::time::Duration::from_millis(2000)
        );

        let s = load(
            None,
            env(&[
                ("STOREKEEP_DATABASE_URL", "postgres://u@primary/shop"),
                (
                    "STOREKEEP_DATABASE_REPLICA_URL",
                    "postgres://u@replica/shop",
                ),
                ("STOREKEEP_DATABASE_REPLICA_MAX_LAG_MS", "500"),
            ]),
        )
        .settings
        .unwrap();
        assert_eq!(
            s.database_replica_url.as_ref().unwrap().expose(),
            "postgres://u@replica/shop"
        );
        assert_eq!(
            s.database_replica_max_lag,
            std::time::Duration::from_millis(500)
        );

        let problems = load(
            None,
            env(&[
                ("STOREKEEP_DATABASE_URL", "postgres://u@primary/shop"),
                ("STOREKEEP_DATABASE_REPLICA_URL", "sqlite://replica.db"),
                ("STOREKEEP_DATABASE_REPLICA_MAX_LAG_MS", "0"),
            ]),
        )
        .settings
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("STOREKEEP_DATABASE_REPLICA_URL")
                    && p.contains("must start with postgres://")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("STOREKEEP_DATABASE_REPLICA_MAX_LAG_MS")
                    && p.contains("greater than zero")),
            "{problems:?}"
        );

        // A replica of the embedded database is refused, with the reason.
        let problems = load(
            None,
            env(&[(
                "STOREKEEP_DATABASE_REPLICA_URL",
                "postgres://u@replica/shop",
            )]),
        )
        .settings
        .unwrap_err();
        assert!(
            problems[0].contains("database.replica_url is a PostgreSQL streaming replica")
                && problems[0].contains("SQLite"),
            "{problems:?}"
        );
        assert!(
            !problems[0].contains("u@replica"),
            "the URL (a secret) is not quoted: {problems:?}"
        );
    }

    #[test]
    fn a_broken_file_is_reported_by_line_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("storekeep.toml");
        let secret = "s3cr3t-platform-token-value-0123456789";
        std::fs::write(
            &file,
            format!("listen = \"127.0.0.1:0\"\nplatform_token = \"{secret}\nbase_domain = 1\n"),
        )
        .unwrap();
        let loaded = load(Some(&file), env(&[]));
        let problems = loaded.settings.unwrap_err().join("\n");
        assert!(problems.contains("not valid TOML at line 2"), "{problems}");
        assert!(
            !problems.contains("s3cr3t"),
            "a secret was quoted: {problems}"
        );
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, format!("{}\n", "t".repeat(40))).unwrap();
        let loaded = load(
            None,
            env(&[("STOREKEEP_PLATFORM_TOKEN_FILE", token.to_str().unwrap())]),
        );
        let settings = loaded.settings.unwrap();
        assert_eq!(
            settings.platform_token.as_ref().unwrap().expose(),
            "t".repeat(40)
        );
        assert!(!format!("{settings:?}").contains("tttt"));
    }

    #[test]
    fn unknown_variables_are_warned_about_not_fatal() {
        let loaded = load(None, env(&[("STOREKEEP_LISTN", "x")]));
        assert!(loaded.settings.is_ok());
        assert_eq!(loaded.warnings.len(), 1);
    }

    #[test]
    fn an_hour_count_too_large_for_seconds_is_refused_not_wrapped() {
        // Found by the property below: `3600 * hours` overflowed.
        let loaded = load(
            None,
            env(&[("STOREKEEP_AUTH_SESSION_TTL_HOURS", "5124095576030432")]),
        );
        let problems = loaded.settings.unwrap_err();
        assert_eq!(
            problems,
            [
                "STOREKEEP_AUTH_SESSION_TTL_HOURS '5124095576030432' hours is too long (at most 8760, one year)"
            ]
        );
    }

    #[test]
    fn a_session_longer_than_a_year_is_refused_and_a_year_is_kept() {
        let loaded = load(None, env(&[("STOREKEEP_AUTH_SESSION_IDLE_HOURS", "8761")]));
        assert_eq!(
            loaded.settings.unwrap_err(),
            ["STOREKEEP_AUTH_SESSION_IDLE_HOURS '8761' hours is too long (at most 8760, one year)"]
        );
        let loaded = load(None, env(&[("STOREKEEP_AUTH_SESSION_TTL_HOURS", "8760")]));
        assert_eq!(
            loaded.settings.unwrap().session_ttl,
            std::time::Duration::from_secs(8760 * 3600)
        );
    }

    mod properties {
        //! Failures are not persisted to files: a shrunk failing case is
        //! kept as an ordinary test above instead.
        use proptest::prelude::*;
        use proptest::test_runner::Config;

        use super::super::super::MIN_TOKEN_LEN;
        use super::*;

        fn config() -> Config {
            Config {
                cases: 256,
                failure_persistence: None,
                ..Config::default()
            }
        }

        fn key() -> impl Strategy<Value = &'static str> {
            proptest::sample::select(KEYS.iter().map(|(k, _, _)| *k).collect::<Vec<_>>())
        }

        /// Text of every kind a setting may be given: numbers of every size
        /// and sign, words, addresses, URLs, and anything at all.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                any::<u64>().prop_map(|n| n.to_string()),
                any::<i64>().prop_map(|n| n.to_string()),
                any::<u32>().prop_map(|n| n.to_string()),
                any::<f64>().prop_map(|n| n.to_string()),
                "[ -~]{0,40}",
                "(true|false|json|pretty|info|0|1|-1| )",
                "(sqlite:|postgres://|redis://|https://|http://)[ -~]{0,30}",
                "[0-9.:/a-f]{0,40}",
            ]
        }

        /// What every loaded configuration holds, whatever it was given.
        fn assert_sane(s: &Settings) -> Result<(), TestCaseError> {
            use std::time::Duration;
            for d in [
                s.database_acquire_timeout,
                s.request_timeout,
                s.header_read_timeout,
                s.keep_alive_idle,
                s.grace,
                s.session_ttl,
                s.session_idle,
                s.cache_ttl,
                s.order_expiry_interval,
            ] {
                prop_assert!(d > Duration::ZERO);
            }
            prop_assert!(s.database_max_connections > 0 && s.body_limit_bytes > 0);
            prop_assert!(s.log_queue_lines > 0 && s.max_connections != Some(0));
            prop_assert!(s.media.max_image_bytes > 0 && s.media.max_image_pixels > 0);
            if let Some(url) = &s.database_url {
                let url = url.expose();
                prop_assert!(
                    url.starts_with("sqlite:")
                        || url.starts_with("postgres://")
                        || url.starts_with("postgresql://")
                );
            }
            if let Some(url) = &s.redis_url {
                prop_assert!(url.expose().starts_with("redis"));
            }
            if let Some(t) = &s.platform_token {
                prop_assert!(t.expose().len() >= MIN_TOKEN_LEN);
            }
            if let Some(secret) = &s.payments.test_webhook_secret {
                prop_assert!(secret.expose().len() >= 16);
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn any_value_of_any_setting_is_taken_within_limits_or_refused_by_name(
                key in key(),
                value in value(),
            ) {
                let name = env_name(key);
                let loaded = load(None, vec![(name.clone(), value.clone())]);
                prop_assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
                match loaded.settings {
                    Ok(s) => assert_sane(&s)?,
                    Err(problems) => {
                        prop_assert!(!problems.is_empty());
                        for p in &problems {
                            prop_assert!(
                                p.starts_with(&format!("{name} "))
                                    // Settings that contradict database.url
                                    // (direct_url, replica_url with SQLite;
                                    // ca_file without rediss://) are named
                                    // by their key.
                                    || p.starts_with("database.")
                                    || p.starts_with("redis.")
                                    || p.starts_with("encryption")
                                    || p.starts_with("backup: "),
                                "{p}"
                            );
                        }
                        if is_secret(key) && value.trim().len() >= 8 {
                            for p in &problems {
                                prop_assert!(!p.contains(value.trim()), "a secret was echoed: {p}");
                            }
                        }
                    }
                }
            }

            #[test]
            fn any_file_is_loaded_within_limits_or_refused_naming_the_file(
                text in prop_oneof![
                    any::<String>(),
                    // Mostly well-formed TOML: known and unknown keys, in
                    // and out of tables, with values of every TOML type.
                    proptest::collection::vec(
                        (
                            prop_oneof![key().prop_map(str::to_owned), "[a-z_.]{1,20}"],
                            prop_oneof![
                                value().prop_map(|v| serde_json::Value::String(v).to_string()),
                                any::<i64>().prop_map(|n| n.to_string()),
                                any::<f64>().prop_map(|n| format!("{n:?}")),
                                Just("true".to_owned()),
                                Just("[1, 2]".to_owned()),
                                Just("1979-05-27T07:32:00Z".to_owned()),
                                Just("{ a = 1 }".to_owned()),
                            ],
                        ),
                        0..8,
                    )
                    .prop_map(|pairs| {
                        pairs
                            .into_iter()
                            .map(|(k, v)| format!("{k} = {v}\n"))
                            .collect::<String>()
                    }),
                ],
            ) {
                let dir = tempfile::tempdir().unwrap();
                let file = dir.path().join("storekeep.toml");
                std::fs::write(&file, &text).unwrap();
                let loaded = load(Some(&file), Vec::new());
                match loaded.settings {
                    Ok(s) => assert_sane(&s)?,
                    Err(problems) => {
                        let prefix = file.display().to_string();
                        for p in &problems {
                            prop_assert!(
                                p.starts_with(&prefix)
                                    // Settings that contradict another
                                    // are named by their key, wherever
                                    // each came from.
                                    || p.starts_with("database.")
                                    || p.starts_with("redis.")
                                    || p.starts_with("encryption")
                                    || p.starts_with("backup: "),
                                "{p}"
                            );
                        }
                    }
                }
            }
        }
    }
}
