//! `storekeep healthcheck`: one HTTP GET of the liveness probe, for
//! container runtimes that run a command inside the image (Docker's
//! `HEALTHCHECK`), which has no curl. Exit 0 on a `200`, 1 otherwise.
//!
//! It speaks plain HTTP/1.1 over a TCP connection to the node itself: the
//! probe is always local, so there is no TLS and no client library. The
//! address is the configured `listen` (an unspecified address such as
//! `0.0.0.0` means this machine: loopback is asked) unless `--url` is given.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// Where to probe: host and port to connect to, the `Host` header and path.
#[derive(Debug, PartialEq)]
struct Target {
    connect: String,
    host: String,
    path: String,
}

pub async fn run(config: Option<PathBuf>, args: HealthcheckArgs) -> anyhow::Result<ExitCode> {
    let target = match &args.url {
        Some(url) => parse_url(url)?,
        None => local(super::load_settings(config)?.listen),
    };
    let limit = Duration::from_secs(args.timeout.max(1));
    match tokio::time::timeout(limit, probe(&target)).await {
        Ok(Ok(200)) => Ok(ExitCode::SUCCESS),
        Ok(Ok(status)) => {
            eprintln!(
                "storekeep healthcheck: http://{}{} answered {status}",
                target.host, target.path
            );
            Ok(ExitCode::FAILURE)
        }
        Ok(Err(e)) => {
            eprintln!(
                "storekeep healthcheck: http://{}{}: {e:#}",
                target.host, target.path
            );
            Ok(ExitCode::FAILURE)
        }
        Err(_) => {
            eprintln!(
                "storekeep healthcheck: http://{}{} did not answer within {}s",
                target.host,
                target.path,
                limit.as_secs()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The liveness probe on this machine at the port of `listen`.
fn local(listen: SocketAddr) -> Target {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let addr = SocketAddr::new(ip, listen.port()).to_string();
    Target {
        connect: addr.clone(),
        host: addr,
        path: "/api/health/live".into(),
    }
}

fn parse_url(url: &str) -> anyhow::Result<Target> {
    let uri: axum::http::Uri = url
        .parse()
        .with_context(|| format!("{url:?} is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        bail!("--url must be a plain http:// URL (the probe is local; no TLS)");
    }
    let Some(authority) = uri.authority() else {
        bail!("--url has no host");
    };
    let port = authority.port_u16().unwrap_or(80);
    Ok(Target {
        connect: format!("{}:{port}", authority.host()),
        host: authority.as_str().to_owned(),
        path: uri
            .path_and_query()
            .map_or("/".into(), |p| p.as_str().to_owned()),
    })
}

/// Sends the GET and returns the status code of the answer.
async fn probe(target: &Target) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect(&target.connect)
        .await
        .context("cannot connect")?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: storekeep-healthcheck\r\nConnection: close\r\n\r\n",
        target.path, target.host
    );
    stream.write_all(request.as_bytes()).await?;
    // The status line is all that matters; read until it is complete.
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    status_of(&head).context("the answer is not HTTP")
}

fn status_of(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_ascii_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_probed_on_loopback() {
        assert_eq!(
            local("0.0.0.0:8080".parse().unwrap()).connect,
            "127.0.0.1:8080"
        );
        assert_eq!(local("[::]:9000".parse().unwrap()).connect, "[::1]:9000");
        assert_eq!(local("10.0.0.5:81".parse().unwrap()).connect, "10.0.0.5:81");
    }

    #[test]
    fn urls_are_plain_http_only() {
        let t = parse_url("http://127.0.0.1:9/api/health/ready?x=1").unwrap();
        assert_eq!(t.connect, "127.0.0.1:9");
        assert_eq!(t.path, "/api/health/ready?x=1");
        assert_eq!(
            parse_url("http://localhost").unwrap().connect,
            "localhost:80"
        );
        assert!(parse_url("https://127.0.0.1:8080/").is_err());
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn the_status_is_read_from_the_status_line() {
        assert_eq!(status_of(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            status_of(b"HTTP/1.1 503 Service Unavailable\r\nx: y"),
            Some(503)
        );
        assert_eq!(status_of(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_of(b""), None);
    }
}
