//! The deploy kit's monitoring files against the server: every metric the
//! Grafana dashboard and the Prometheus alert rules query is one the
//! server exports at `/api/metrics`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::spawn_app;

use crate::identity::register;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// Names that are not storekeep's metrics: node exporter's, Prometheus's
/// own, and PromQL's keywords.
fn ignored(name: &str) -> bool {
    name.starts_with("node_")
        || matches!(
            name,
            "up" | "ALERTS"
                | "ALERTS_FOR_STATE"
                | "and"
                | "or"
                | "unless"
                | "bool"
                | "offset"
                | "inf"
                | "nan"
                | "Inf"
                | "NaN"
        )
}

/// PromQL's aggregation operators, which may be followed by `by (…)`
/// rather than by their parenthesis.
const AGGREGATIONS: [&str; 14] = [
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// The metric names a PromQL expression selects: identifiers that are
/// not functions (followed by `(`), not inside label matchers `{…}`,
/// ranges `[…]` or strings, not the label lists of `by`/`without`/`on`/
/// `ignoring`/`group_left`/`group_right`, and not Grafana variables (`$x`).
/// Histogram suffixes are stripped.
pub(crate) fn metric_names(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    let mut skip_next_parens = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while i < chars.len() && chars[i] != close {
                    i += 1;
                }
                i += 1;
            }
            '(' if skip_next_parens => {
                skip_next_parens = false;
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                i += 1;
            }
            '$' => {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                // Numbers and durations (5m, 1e3, 0.99).
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                let is_call = j < chars.len() && chars[j] == '(';
                if matches!(
                    word.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                ) {
                    // Their label list, if any (`group_left` may have none).
                    skip_next_parens = is_call;
                } else if !is_call && !ignored(&word) && !AGGREGATIONS.contains(&word.as_str()) {
                    let base = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|s| word.strip_suffix(s))
                        .unwrap_or(&word);
                    names.push(base.to_string());
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// Every `expr` string anywhere in the dashboard (panel targets), and the
/// template variables' queries.
fn dashboard_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("expr", Value::String(s)) => out.push(s.clone()),
                    _ => dashboard_exprs(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| dashboard_exprs(x, out)),
        _ => {}
    }
}

/// The `expr:` of every rule in a rule file: inline, or a block scalar
/// (`>-`, `|`) made of the following more-indented lines.
fn rule_exprs(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        let rest = rest.trim();
        if rest.starts_with('>') || rest.starts_with('|') {
            let block: Vec<&str> = lines[n + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .map(|l| l.trim())
                .collect();
            out.push(block.join(" "));
        } else {
            out.push(rest.trim_matches(|c| c == '\'' || c == '"').to_string());
        }
    }
    out
}

#[test]
fn the_extractor_finds_metrics_and_skips_functions_labels_and_keywords() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (le, instance) (rate(storekeep_http_request_duration_seconds_bucket{route!="unmatched"}[$__rate_interval])))
           / on (job) group_left sum(storekeep_x_total offset 5m) > bool 0.5 and up == 0 or node_filesystem_avail_bytes
           unless max without (queue) (storekeep_y) - count(storekeep_z) by (job)"#,
    );
    assert_eq!(
        names,
        [
            "storekeep_http_request_duration_seconds",
            "storekeep_x_total",
            "storekeep_y",
            "storekeep_z"
        ]
    );
    let exprs = rule_exprs(
        "      - alert: A\n        expr: a_total > 1\n      - alert: B\n        expr: >-\n          sum(b_total)\n            / c\n        for: 5m\n",
    );
    assert_eq!(exprs, ["a_total > 1", "sum(b_total) / c"]);
}

/// Series a node exports only with a read replica configured
/// (`database.replica_url`): checked against such a node by
/// `replica::replica_metrics_the_dashboard_and_alerts_query_are_exported`,
/// and only there.
pub(crate) const REPLICA_ONLY: &[&str] = &[
    "storekeep_db_replica_up",
    "storekeep_db_replica_lag_seconds",
    "storekeep_db_replica_max_lag_seconds",
    "storekeep_db_reads_total",
    "storekeep_db_replica_fallbacks_total",
];

/// The metric names `/api/metrics` text exports (histograms by their base
/// name).
pub(crate) fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(|n| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| n.strip_suffix(s))
                .unwrap_or(n)
                .to_owned()
        })
        .collect()
}

/// Every query of the dashboard and the alert rules, by the file it comes
/// from: (file, expr).
pub(crate) fn queries() -> Vec<(String, String)> {
    let mut queries: Vec<(String, String)> = Vec::new();
    let dashboard = deploy_dir().join("grafana/dashboards/storekeep.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&dashboard).unwrap())
        .expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    dashboard_exprs(&json, &mut exprs);
    assert!(exprs.len() >= 12, "the dashboard's panels have queries");
    queries.extend(exprs.into_iter().map(|e| ("storekeep.json".into(), e)));
    let rules_dir = deploy_dir().join("prometheus/rules");
    let mut rule_files = 0;
    for entry in std::fs::read_dir(&rules_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".yml") {
            continue;
        }
        rule_files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let exprs = rule_exprs(&text);
        let rules = text
            .lines()
            .filter(|l| {
                let t = l.trim_start();
                t.starts_with("- alert:") || t.starts_with("- record:")
            })
            .count();
        assert_eq!(exprs.len(), rules, "one expr per rule in {name}");
        queries.extend(exprs.into_iter().map(|e| (name.clone(), e)));
    }
    assert!(rule_files >= 7, "the alert rule files are read");
    queries
}

#[tokio::test]
async fn every_metric_the_dashboard_and_alerts_query_is_exported() {
    let queries = queries();

    // Traffic, so that labelled series exist: a shop, a customer and a
    // password-reset email (sent by a job), a 404, a forged payment
    // webhook.
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    assert!(
        register(&app, "acme", "ada@example.com")
            .await
            .status()
            .is_success()
    );
    let asked = app
        .shop("acme", Method::POST, "/api/v1/auth/password-reset")
        .json(&json!({ "email": "ada@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    app.get("/nowhere").await;
    // An unsigned payment webhook: refused, and counted as rejected.
    let forged = app
        .request(Method::POST, "/api/v1/webhooks/payments/test")
        .header("content-type", "application/json")
        .body(r#"{"id":"evt_1","type":"payment.confirmed","reference":"test_1"}"#)
        .send()
        .await
        .unwrap();
    assert!(forged.status().is_client_error(), "{}", forged.status());
    let mut text = String::new();
    for _ in 0..200 {
        text = app.get("/api/metrics").await.text().await.unwrap();
        if text.contains("storekeep_emails_total{") && text.contains("storekeep_jobs_runs_total{") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let exported = exported(&text);

    let mut checked = BTreeSet::new();
    let mut missing = Vec::new();
    for (file, expr) in &queries {
        for name in metric_names(expr) {
            if REPLICA_ONLY.contains(&name.as_str()) {
                // Not exported by a node without a replica: checked in
                // replica.rs.
                checked.insert(name);
                continue;
            }
            if !exported.contains(name.as_str()) {
                missing.push(format!("{name} (in {file}: {expr})"));
            }
            checked.insert(name);
        }
    }
    assert!(
        missing.is_empty(),
        "queried but not exported by /api/metrics:\n{}",
        missing.join("\n")
    );
    for must in [
        "storekeep_http_requests_total",
        "storekeep_http_request_duration_seconds",
        "storekeep_ready",
        "storekeep_jobs_oldest_ready_seconds",
        "storekeep_jobs_dead",
        "storekeep_backup_last_success_timestamp_seconds",
    ] {
        assert!(checked.contains(must), "{must} is queried somewhere");
    }
    let replica_only: BTreeSet<&str> = REPLICA_ONLY.iter().copied().collect();
    assert!(
        !replica_only.is_empty() && replica_only.len() == REPLICA_ONLY.len(),
        "REPLICA_ONLY names the replica's series, each once"
    );
    for name in REPLICA_ONLY {
        assert!(checked.contains(*name), "{name} is queried somewhere");
        assert!(
            !exported.contains(*name),
            "{name} is exported without a replica: drop it from REPLICA_ONLY"
        );
    }
    app.stop().await;
}
