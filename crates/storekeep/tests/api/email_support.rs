//! Helpers for the email tests: a real SMTP server (aiosmtpd, started on
//! 127.0.0.1 and a free port, killed when dropped), a test CA, DKIM keys
//! made with openssl, an independent DKIM verifier (dkimpy) and a small
//! reader of the messages' headers and MIME parts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const SINK_USER: &str = "storekeep";
/// Has characters the URL must percent-encode.
pub const SINK_PASSWORD: &str = "s3cret@pass/word";

/// Whether the Python modules are importable; when not, the test is
/// skipped unless `STOREKEEP_TEST_REQUIRE_TOOLS` is set (scripts/test).
pub fn python_has(modules: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok || std::env::var("STOREKEEP_TEST_REQUIRE_TOOLS").is_err(),
        "python3 with {modules} is required (STOREKEEP_TEST_REQUIRE_TOOLS is set); scripts/test installs it"
    );
    if !ok {
        eprintln!("skipped: python3 with {modules} is not installed");
    }
    ok
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A CA and a leaf certificate for 127.0.0.1 it signed: (ca.pem, leaf.pem, leaf.key).
pub fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |n: &str| dir.join(n);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-days",
            "1",
            "-subj",
            "/CN=storekeep test CA",
        ])
        .args(ec)
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    run(Command::new("openssl")
        .args(["req", "-subj", "/CN=127.0.0.1"])
        .args(ec)
        .arg("-keyout")
        .arg(p("leaf.key"))
        .arg("-out")
        .arg(p("leaf.csr")));
    std::fs::write(
        p("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "1", "-CAcreateserial"])
        .arg("-in")
        .arg(p("leaf.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-extfile")
        .arg(p("leaf.ext"))
        .arg("-out")
        .arg(p("leaf.pem")));
    (p("ca.pem"), p("leaf.pem"), p("leaf.key"))
}

/// A 2048-bit RSA key as PKCS#8 PEM, and its DNS TXT record.
pub fn dkim_rsa_key(dir: &Path) -> (String, String) {
    let key = dir.join("dkim.pem");
    run(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .arg("-out")
        .arg(&key));
    let der = run(Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER"])
        .arg("-in")
        .arg(&key));
    use base64::Engine as _;
    let public = base64::engine::general_purpose::STANDARD.encode(der);
    (
        std::fs::read_to_string(&key).unwrap(),
        format!("v=DKIM1; k=rsa; p={public}"),
    )
}

/// Verifies the message's DKIM signature with dkimpy, the DNS answering
/// `txt` for every name.
pub fn dkim_verifies(message: &Path, txt: &str) -> bool {
    let script = r#"
import sys, dkim
msg = open(sys.argv[1], 'rb').read()
txt = sys.argv[2].encode()
ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: txt)
print('ok' if ok else 'bad')
"#;
    let out = run(Command::new("python3")
        .args(["-c", script])
        .arg(message)
        .arg(txt));
    String::from_utf8_lossy(&out).trim() == "ok"
}

/// The SMTP server, killed when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub ca: Option<PathBuf>,
}

impl SmtpSink {
    /// Starts the sink with AUTH; with STARTTLS (required) when `tls`.
    pub fn start(tls: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port, tls)
    }

    /// On `port` (a server that went away and came back), with an empty
    /// inbox.
    pub fn start_on(port: u16, tls: bool) -> Self {
        Self::spawn(port, tls, false)
    }

    /// With implicit TLS (TLS from the first byte, as on port 465).
    pub fn start_implicit_tls() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::spawn(port, true, true)
    }

    fn spawn(port: u16, tls: bool, implicit: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .args(["--port", &port.to_string(), "--user", SINK_USER])
            .args(["--password", SINK_PASSWORD])
            .arg("--dir")
            .arg(dir.path().join("inbox"))
            .arg("--peers")
            .arg(dir.path().join("peers.log"));
        let mut ca = None;
        if tls {
            let (ca_pem, leaf, key) = test_ca(dir.path());
            cmd.arg("--cert").arg(leaf).arg("--key").arg(key);
            if implicit {
                cmd.arg("--implicit-tls");
            }
            ca = Some(ca_pem);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Self {
            child,
            port,
            dir,
            ca,
        }
    }

    /// `smtp://USER:PASS@127.0.0.1:PORT`, the password percent-encoded.
    pub fn url(&self) -> String {
        format!(
            "smtp://{SINK_USER}:{}@127.0.0.1:{}",
            SINK_PASSWORD.replace('@', "%40").replace('/', "%2F"),
            self.port
        )
    }

    pub fn messages(&self) -> Vec<PathBuf> {
        messages_in(&self.dir.path().join("inbox"))
    }

    /// For every message accepted, in order, the client port of the
    /// connection it came over (one port per connection).
    pub fn peers(&self) -> Vec<u16> {
        std::fs::read_to_string(self.dir.path().join("peers.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.parse().expect("a port"))
            .collect()
    }

    /// Waits until `n` messages have arrived (10 s at most).
    pub async fn wait_for(&self, n: usize) -> Vec<PathBuf> {
        wait_for(&self.dir.path().join("inbox"), n).await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `.eml` files in `dir`, oldest first.
pub fn messages_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

pub async fn wait_for(dir: &Path, n: usize) -> Vec<PathBuf> {
    for _ in 0..200 {
        let found = messages_in(dir);
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{n} messages did not arrive in {}", dir.display());
}

/// A message's headers (unfolded) and body.
pub struct Mail {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Mail {
    pub fn read(path: &Path) -> Self {
        Self::parse(&std::fs::read_to_string(path).unwrap())
    }

    pub fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Self {
            headers,
            body: body.to_owned(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The parts of a multipart body, each parsed as a message.
    pub fn parts(&self) -> Vec<Mail> {
        let ct = self.header("Content-Type").unwrap_or_default();
        let boundary = ct
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .expect("a multipart boundary")
            .trim_matches('"');
        let delimiter = format!("--{boundary}");
        self.body
            .split(&delimiter)
            .skip(1)
            .filter(|p| !p.starts_with("--"))
            .map(|p| Mail::parse(p.trim_start_matches('\n')))
            .collect()
    }
}

impl Mail {
    /// The body with its Content-Transfer-Encoding undone.
    pub fn decoded(&self) -> String {
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or("7bit")
            .to_ascii_lowercase();
        match encoding.as_str() {
            "base64" => {
                use base64::Engine as _;
                let compact: String = self.body.split_whitespace().collect();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .unwrap(),
                )
                .unwrap()
            }
            "quoted-printable" => {
                let joined = self.body.replace("=\n", "");
                let bytes = joined.as_bytes();
                let mut out = Vec::new();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'='
                        && i + 3 <= bytes.len()
                        && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
                    {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    out.push(bytes[i]);
                    i += 1;
                }
                String::from_utf8(out).unwrap()
            }
            _ => self.body.clone(),
        }
    }
}
