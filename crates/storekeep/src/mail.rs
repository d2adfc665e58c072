//! Outgoing email. Until SMTP delivery lands with the notifications work,
//! messages are written as `.eml` files to `DATA_DIR/mail/`, where a
//! developer (or a test) reads them.

use std::path::PathBuf;

use anyhow::Context;

#[derive(Debug, Clone)]
pub struct Mailer {
    dir: PathBuf,
}

impl Mailer {
    pub fn folder(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Writes one RFC 5322 message. The file name sorts by time.
    pub fn send(&self, from: &str, to: &str, subject: &str, body: &str) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating mail folder {}", self.dir.display()))?;
        let id = uuid::Uuid::now_v7();
        let message = format!(
            "Message-ID: <{id}@storekeep>\r\nDate: {}\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            chrono::Utc::now().to_rfc2822(),
            body.replace('\n', "\r\n")
        );
        let path = self.dir.join(format!("{id}.eml"));
        std::fs::write(&path, message).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}
