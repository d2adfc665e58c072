//! `storekeep healthcheck`: one HTTP GET of the liveness probe, for
//! container runtimes that run a command inside the image (Docker's
//! `HEALTHCHECK`), which has no curl. Exit 0 on a `200`, 1 otherwise.
//!
//! The probe is always local, so plain http only, with the HTTP client the
//! server already uses for webhooks. The address is the configured
//! `listen` (an unspecified address such as `0.0.0.0` means this machine:
//! loopback is asked) unless `--url` is given.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// URL to probe instead of the configured listen address, e.g.
    /// `http://127.0.0.1:8080/api/health/ready` (plain http only).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Seconds to wait for the answer, connecting included.
    #[arg(long, default_value_t = 3, value_name = "SECS")]
    timeout: u64,
}

pub async fn run(config: Option<PathBuf>, args: HealthcheckArgs) -> anyhow::Result<ExitCode> {
    let url = match &args.url {
        Some(url) => parse_url(url)?,
        None => local(super::load_settings(config)?.listen),
    };
    let limit = Duration::from_secs(args.timeout.max(1));
    let client = reqwest::Client::builder()
        .timeout(limit)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    match client.get(url.clone()).send().await {
        Ok(resp) if resp.status() == reqwest::StatusCode::OK => Ok(ExitCode::SUCCESS),
        Ok(resp) => {
            eprintln!(
                "storekeep healthcheck: {url} answered {}",
                resp.status().as_u16()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e) if e.is_timeout() => {
            eprintln!(
                "storekeep healthcheck: {url} did not answer within {}s",
                limit.as_secs()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e) if e.is_connect() => {
            eprintln!("storekeep healthcheck: {url}: cannot connect");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("storekeep healthcheck: {url}: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The liveness probe on this machine at the port of `listen`.
fn local(listen: SocketAddr) -> reqwest::Url {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let addr = SocketAddr::new(ip, listen.port());
    reqwest::Url::parse(&format!("http://{addr}/api/health/live")).expect("a socket address URL")
}

fn parse_url(url: &str) -> anyhow::Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    if parsed.scheme() != "http" {
        bail!("--url must be a plain http:// URL (the probe is local; no TLS)");
    }
    if parsed.host().is_none() {
        bail!("--url has no host");
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_probed_on_loopback() {
        assert_eq!(
            local("0.0.0.0:8080".parse().unwrap()).as_str(),
            "http://127.0.0.1:8080/api/health/live"
        );
        assert_eq!(
            local("[::]:9000".parse().unwrap()).as_str(),
            "http://[::1]:9000/api/health/live"
        );
        assert_eq!(
            local("10.0.0.5:81".parse().unwrap()).as_str(),
            "http://10.0.0.5:81/api/health/live"
        );
    }

    #[test]
    fn urls_are_plain_http_only() {
        let t = parse_url("http://127.0.0.1:9/api/health/ready?x=1").unwrap();
        assert_eq!(t.port_or_known_default(), Some(9));
        assert_eq!(t.path(), "/api/health/ready");
        assert_eq!(t.query(), Some("x=1"));
        assert_eq!(
            parse_url("http://localhost")
                .unwrap()
                .port_or_known_default(),
            Some(80)
        );
        assert!(parse_url("https://127.0.0.1:8080/").is_err());
        assert!(parse_url("not a url").is_err());
    }
}
