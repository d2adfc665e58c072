//! Outgoing email: a message (`Email`: sender, recipient, subject, a
//! plain-text and an HTML part, an optional DKIM key) and the transport
//! that delivers it, chosen by `mail.transport`:
//!
//! - `folder` (the development default): each message is written, exactly
//!   as it would be sent (multipart, DKIM-signed when configured), as an
//!   `.eml` file to `DATA_DIR/mail/`;
//! - `smtp`: a pooled SMTP client with STARTTLS, implicit TLS or, towards
//!   a loopback host only, none: lettre speaks SMTP, over sockets of
//!   [`smtp_pool`]'s with `TCP_NODELAY` (lettre's own transport, for
//!   implicit TLS only, leaves Nagle's algorithm on).
//!
//! Rendering lives in [`templates`], DKIM keys in [`dkim`]. A failure is a
//! [`MailError`] whose message never contains an address, and which says
//! whether trying again can help.

pub mod dkim;
mod smtp_pool;
pub mod templates;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header::HeaderName};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{AsyncTransport, Message, Tokio1Executor};
use smtp_pool::{SmtpPool, SmtpTarget};

use crate::config::{MailSettings, MailTransport, SmtpTls};

/// One message ready to send.
#[derive(Clone)]
pub struct Email {
    /// The template it was rendered from, for metrics and logs.
    pub template: &'static str,
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    /// The recipient's address, in clear only here.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub dkim: Option<dkim::DkimKey>,
    /// The Message-ID's part before the `@` (the sender's domain follows);
    /// `None` makes a fresh one. A message sent again keeps its own.
    pub message_id: Option<String>,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("template", &self.template)
            .field("to", &recipient_domain(&self.to))
            .field("subject", &self.subject)
            .field("dkim", &self.dkim.is_some())
            .finish_non_exhaustive()
    }
}

/// What logs may say about a recipient: the domain of the address.
pub fn recipient_domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("?", |(_, d)| d)
}

/// Why a message was not delivered. The message names no address.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message cannot be built (a malformed address or header): it
    /// never will be.
    #[error("the message is malformed: {0}")]
    Malformed(String),
    /// The server refused the message for good (a 5xx reply).
    #[error("the mail server refused the message: {0}")]
    Rejected(String),
    /// The server or the network failed for now (a connection error, a
    /// timeout, a 4xx reply): a later try may work.
    #[error("the mail server is unavailable: {0}")]
    Unavailable(String),
    /// The development mail folder cannot be written.
    #[error("the mail folder cannot be written: {0}")]
    Folder(String),
}

impl MailError {
    /// Whether trying again cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Malformed(_) | Self::Rejected(_))
    }

    fn from_smtp(e: &lettre::transport::smtp::Error) -> Self {
        let text = redact_addresses(&e.to_string());
        if e.is_permanent() {
            Self::Rejected(text)
        } else {
            Self::Unavailable(text)
        }
    }
}

/// Replaces every word holding an `@` (a server's reply may quote the
/// recipient) with `[address]`.
pub fn redact_addresses(text: &str) -> String {
    text.split(' ')
        .map(|w| if w.contains('@') { "[address]" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone)]
enum Transport {
    Folder(PathBuf),
    /// `smtp://` (STARTTLS or, towards loopback, plaintext).
    Smtp(Arc<SmtpPool>),
    /// `smtps://`: lettre's transport and pool, which can start TLS before
    /// the greeting (on a socket without `TCP_NODELAY`, see [`smtp_pool`]).
    Smtps(AsyncSmtpTransport<Tokio1Executor>),
}

/// Delivers messages through the configured transport. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    default_from: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.transport {
            Transport::Folder(_) => "Mailer(folder)",
            Transport::Smtp(_) | Transport::Smtps(_) => "Mailer(smtp)",
        })
    }
}

impl Mailer {
    /// Writes `.eml` files to `dir`.
    pub fn folder(dir: PathBuf) -> Self {
        Self {
            transport: Transport::Folder(dir),
            default_from: MailSettings::default().from,
        }
    }

    /// The transport `mail.*` chooses. Fails on a setting that cannot work
    /// (no URL, plaintext towards a remote host, an unreadable CA file).
    pub fn from_settings(
        settings: &MailSettings,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let transport = match settings.transport {
            MailTransport::Folder => Transport::Folder(data_dir.join("mail")),
            MailTransport::Smtp => smtp_transport(settings)?,
        };
        Ok(Self {
            transport,
            default_from: settings.from.clone(),
        })
    }

    /// The platform's sender address (`mail.from`), for shops without one.
    pub fn default_from(&self) -> &str {
        &self.default_from
    }

    /// Builds, signs (when the message has a DKIM key) and delivers one
    /// message.
    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = build(email)?;
        match &self.transport {
            Transport::Folder(dir) => write_eml(dir, &message.formatted()).await,
            Transport::Smtp(pool) => pool.send(message.envelope(), &message.formatted()).await,
            Transport::Smtps(smtp) => smtp
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::from_smtp(&e)),
        }
    }
}

/// The message as it goes on the wire: multipart/alternative (text, then
/// HTML), a Message-ID on the sender's domain, DKIM-signed relaxed/relaxed.
pub fn build(email: &Email) -> Result<Message, MailError> {
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|_| MailError::Malformed("the recipient is not an address".into()))?;
    let domain = email.from.email.domain().to_owned();
    let mut builder = Message::builder()
        .from(email.from.clone())
        .to(to)
        .subject(email.subject.clone())
        .date_now()
        .message_id(Some(format!(
            "<{}@{domain}>",
            email
                .message_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
        )));
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    let mut message = builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| MailError::Malformed(redact_addresses(&e.to_string())))?;
    if let Some(key) = &email.dkim {
        // Content-Type is written with the body, after signing: lettre
        // cannot cover it.
        let headers = [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "Reply-To",
            "MIME-Version",
        ]
        .into_iter()
        .filter(|h| *h != "Reply-To" || email.reply_to.is_some())
        .map(HeaderName::new_from_ascii_str)
        .collect();
        message.sign(&key.config(headers)?);
    }
    Ok(message)
}

/// Writes the message whole under a temporary name, then renames it, so a
/// reader never sees half a message. Names sort by time.
async fn write_eml(dir: &std::path::Path, bytes: &[u8]) -> Result<(), MailError> {
    let fail = |e: std::io::Error| MailError::Folder(format!("{}: {e}", dir.display()));
    tokio::fs::create_dir_all(dir).await.map_err(fail)?;
    let id = uuid::Uuid::now_v7();
    let partial = dir.join(format!(".{id}.partial"));
    tokio::fs::write(&partial, bytes).await.map_err(fail)?;
    tokio::fs::rename(&partial, dir.join(format!("{id}.eml")))
        .await
        .map_err(fail)
}

/// Whether `host` is this machine (plaintext SMTP is allowed only there).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The SMTP client: host, port and credentials from `mail.smtp_url`, TLS
/// from `mail.smtp_tls` (default: STARTTLS for `smtp://`, implicit TLS for
/// `smtps://`), trusted roots from the system plus `mail.smtp_ca_file`.
fn smtp_transport(s: &MailSettings) -> anyhow::Result<Transport> {
    use anyhow::Context;
    let raw = s
        .smtp_url
        .as_ref()
        .context("mail.transport is smtp but mail.smtp_url is not set")?;
    let url = url::Url::parse(raw.expose()).context("mail.smtp_url is not a URL")?;
    let implicit = match url.scheme() {
        "smtp" => false,
        "smtps" => true,
        _ => anyhow::bail!("mail.smtp_url must start with smtp:// or smtps://"),
    };
    let host = url
        .host_str()
        .context("mail.smtp_url has no host")?
        .to_owned();
    let tls = s.smtp_tls.unwrap_or(if implicit {
        SmtpTls::Tls
    } else {
        SmtpTls::Starttls
    });
    if implicit && tls != SmtpTls::Tls {
        anyhow::bail!("mail.smtp_url is smtps:// (implicit TLS) but mail.smtp_tls is not tls");
    }
    if tls == SmtpTls::None && !is_loopback(&host) {
        anyhow::bail!("mail.smtp_tls = none is allowed only towards a loopback host, not {host}");
    }
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port().unwrap_or(match tls {
        SmtpTls::Tls => 465,
        SmtpTls::Starttls => 587,
        SmtpTls::None => 25,
    });
    let params = match tls {
        SmtpTls::None => None,
        SmtpTls::Starttls | SmtpTls::Tls => {
            let mut params = TlsParameters::builder(host.clone());
            if let Some(ca) = &s.smtp_ca_file {
                let pem = std::fs::read(ca)
                    .with_context(|| format!("reading mail.smtp_ca_file {}", ca.display()))?;
                let cert = Certificate::from_pem(&pem).with_context(|| {
                    format!(
                        "mail.smtp_ca_file {} is not a PEM certificate",
                        ca.display()
                    )
                })?;
                params = params.add_root_certificate(cert);
            }
            Some(params.build_rustls().context("setting up TLS for SMTP")?)
        }
    };
    let credentials = if url.username().is_empty() {
        None
    } else {
        let decode = |v: &str| {
            percent_decode(v)
                .context("mail.smtp_url's user or password is not valid percent-encoding")
        };
        Some(Credentials::new(
            decode(url.username())?,
            decode(url.password().unwrap_or(""))?,
        ))
    };
    if let (SmtpTls::Tls, Some(params)) = (tls, &params) {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(Tls::Wrapper(params.clone()))
            .timeout(Some(s.smtp_timeout))
            .pool_config(
                PoolConfig::new()
                    .max_size(s.smtp_pool_size)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        return Ok(Transport::Smtps(builder.build()));
    }
    let target = SmtpTarget {
        host,
        port,
        starttls: params,
        credentials,
        timeout: s.smtp_timeout,
    };
    Ok(Transport::Smtp(Arc::new(SmtpPool::new(
        target,
        s.smtp_pool_size,
    ))))
}

fn percent_decode(v: &str) -> anyhow::Result<String> {
    let mut out = Vec::with_capacity(v.len());
    let bytes = v.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = v
                .get(i + 1..i + 3)
                .ok_or_else(|| anyhow::anyhow!("truncated escape"))?;
            out.push(u8::from_str_radix(hex, 16)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8(out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_redacted_from_server_replies() {
        let text = "permanent error (550): 5.1.1 <ada@example.com>: Recipient address rejected";
        let redacted = redact_addresses(text);
        assert!(!redacted.contains("ada"), "{redacted}");
        assert!(redacted.contains("550"));
    }

    #[test]
    fn plaintext_smtp_is_refused_towards_a_remote_host() {
        let settings = MailSettings {
            transport: MailTransport::Smtp,
            smtp_url: Some(crate::config::Secret::new("smtp://mail.example.com:25")),
            smtp_tls: Some(SmtpTls::None),
            ..MailSettings::default()
        };
        let Err(err) = smtp_transport(&settings) else {
            panic!("plaintext towards a remote host was accepted")
        };
        assert!(err.to_string().contains("loopback"), "{err}");
        assert!(is_loopback("127.0.0.1") && is_loopback("[::1]") && is_loopback("localhost"));
    }

    #[test]
    fn percent_escapes_in_credentials_are_decoded() {
        assert_eq!(percent_decode("p%40ss%2Fword").unwrap(), "p@ss/word");
        assert!(percent_decode("bad%4").is_err());
    }
}
