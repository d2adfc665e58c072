//! A small pool of SMTP connections whose sockets have `TCP_NODELAY` set.
//!
//! Why it exists: lettre 0.11.23, the newest release, never sets
//! `TCP_NODELAY` on the socket its `AsyncSmtpTransport` opens. A message
//! ends with a small write (`\r\n.\r\n`) right after the body's; Nagle's
//! algorithm holds it until the body is acknowledged, and the server delays
//! that ACK (40 ms on Linux): every message stalled ~48 ms, one connection
//! sent ~20 a second. lettre fixed it upstream (pull request 1159); once a
//! release carries the fix, this file can go and `AsyncSmtpTransport`, with
//! its own pool, come back (see `smtp_transport` in `mail/mod.rs`).
//!
//! Here the pool opens the TCP connection itself, sets `TCP_NODELAY`, and
//! hands the socket to lettre's `AsyncSmtpConnection`, which speaks SMTP
//! over it: greeting, EHLO, STARTTLS (required when configured), AUTH, the
//! message. Implicit TLS (`smtps://`) still uses lettre's transport: its
//! public API cannot start TLS before the greeting on a socket it did not
//! open.
//!
//! - At most `size` connections exist at once; a send waits for one.
//! - A connection goes back to the pool after a send that left it sound.
//!   One that broke (a network error, a timeout, or an error reply after
//!   which lettre sends QUIT) is closed and forgotten: the send fails as
//!   [`MailError`] says and the job runner retries it.
//! - Before reuse, a parked connection is checked without a round trip: its
//!   socket must have nothing to read. A server that closed the connection
//!   (restarted, timed us out) has left an end-of-file or a `421` there;
//!   such a connection is dropped and the next one (or a new one) is used.
//! - Connections idle for [`IDLE`] are closed (QUIT) by a sweeper task.
//! - Each step — connect, greeting and EHLO, STARTTLS, AUTH, one message's
//!   transaction — must finish within the configured timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::MailError;

/// How long an unused connection stays open (lettre's pool used the same).
const IDLE: Duration = Duration::from_secs(60);

/// Where and how to connect.
pub(super) struct SmtpTarget {
    /// A name or an IP address, without brackets.
    pub host: String,
    pub port: u16,
    /// `Some`: STARTTLS is required; `None`: plaintext (loopback only).
    pub starttls: Option<TlsParameters>,
    pub credentials: Option<Credentials>,
    pub timeout: Duration,
}

pub(super) struct SmtpPool {
    target: SmtpTarget,
    hello: ClientId,
    /// One permit per connection that may exist.
    slots: Semaphore,
    idle: Mutex<Vec<Parked>>,
    sweeping: AtomicBool,
}

/// An open SMTP session.
struct Conn {
    smtp: AsyncSmtpConnection,
    /// A second handle on the socket (the same connection), to see whether
    /// the server has closed it without a round trip. Dropped with `smtp`.
    probe: std::net::TcpStream,
}

struct Parked {
    conn: Conn,
    since: Instant,
}

impl Conn {
    /// Whether the socket has nothing to read: the server has neither
    /// closed the connection nor said anything unasked.
    fn is_quiet(&self) -> bool {
        matches!(self.probe.peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

impl SmtpPool {
    pub(super) fn new(target: SmtpTarget, size: u32) -> Self {
        Self {
            target,
            hello: ClientId::default(),
            slots: Semaphore::new(usize::try_from(size).unwrap_or(1).max(1)),
            idle: Mutex::new(Vec::new()),
            sweeping: AtomicBool::new(false),
        }
    }

    /// Sends one message: over a parked connection if a sound one is
    /// there, else over a new one.
    pub(super) async fn send(
        self: &Arc<Self>,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), MailError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| MailError::Unavailable("the SMTP pool is closed".into()))?;
        let mut conn = match self.reuse() {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let sent = tokio::time::timeout(self.target.timeout, conn.smtp.send(envelope, message));
        match sent.await {
            Ok(Ok(_)) => {
                self.park(conn);
                Ok(())
            }
            Ok(Err(e)) => {
                // After an error reply lettre has sent QUIT (`has_broken`);
                // a refusal on our side (before MAIL) leaves the session usable.
                if !conn.smtp.has_broken() {
                    self.park(conn);
                }
                Err(MailError::from_smtp(&e))
            }
            // Stopped mid-conversation: the connection is dropped (closed).
            Err(_) => Err(self.timed_out("sending the message")),
        }
    }

    /// The most recently used sound parked connection; stale ones are
    /// dropped (closed) on the way.
    fn reuse(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(parked) = idle.pop() {
            if parked.since.elapsed() < IDLE && parked.conn.is_quiet() {
                return Some(parked.conn);
            }
        }
        None
    }

    fn park(self: &Arc<Self>, conn: Conn) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Parked {
                conn,
                since: Instant::now(),
            });
        if !self.sweeping.swap(true, Ordering::Relaxed) {
            tokio::spawn(sweep(Arc::downgrade(self)));
        }
    }

    /// A new session: TCP with `TCP_NODELAY`, greeting and EHLO, STARTTLS
    /// when configured, AUTH when credentials are.
    async fn connect(&self) -> Result<Conn, MailError> {
        let t = &self.target;
        let network = |e: std::io::Error| {
            MailError::Unavailable(format!("connecting to {}:{}: {e}", t.host, t.port))
        };
        let tcp = tokio::time::timeout(t.timeout, TcpStream::connect((t.host.as_str(), t.port)))
            .await
            .map_err(|_| self.timed_out("connecting"))?
            .map_err(network)?;
        tcp.set_nodelay(true).map_err(network)?;
        let std = tcp.into_std().map_err(network)?;
        let probe = std.try_clone().map_err(network)?;
        let tcp = TcpStream::from_std(std).map_err(network)?;
        let mut smtp = self
            .within(
                "the greeting",
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello),
            )
            .await?;
        if let Some(tls) = &t.starttls {
            self.within("STARTTLS", smtp.starttls(tls.clone(), &self.hello))
                .await?;
        }
        if let Some(credentials) = &t.credentials {
            self.within("AUTH", smtp.auth(DEFAULT_MECHANISMS, credentials))
                .await?;
        }
        Ok(Conn { smtp, probe })
    }

    /// Runs one SMTP step under the timeout.
    async fn within<T>(
        &self,
        step: &str,
        f: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, MailError> {
        match tokio::time::timeout(self.target.timeout, f).await {
            Ok(done) => done.map_err(|e| MailError::from_smtp(&e)),
            Err(_) => Err(self.timed_out(step)),
        }
    }

    fn timed_out(&self, step: &str) -> MailError {
        MailError::Unavailable(format!(
            "{step} took longer than {} s",
            self.target.timeout.as_secs()
        ))
    }
}

/// Closes connections idle for [`IDLE`], until the pool is gone.
async fn sweep(pool: Weak<SmtpPool>) {
    loop {
        tokio::time::sleep(IDLE / 4).await;
        let Some(pool) = pool.upgrade() else { return };
        let expired: Vec<Parked> = {
            let mut idle = pool.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let (old, fresh) = idle.drain(..).partition(|p| p.since.elapsed() >= IDLE);
            *idle = fresh;
            old
        };
        let timeout = pool.target.timeout;
        drop(pool);
        for mut parked in expired {
            // QUIT, then the socket is closed; a silent server is not waited for.
            let _ = tokio::time::timeout(timeout, parked.conn.smtp.abort()).await;
        }
    }
}
