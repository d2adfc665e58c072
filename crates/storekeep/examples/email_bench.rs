//! Load generator for `scripts/bench email` (run it through the script,
//! which starts the SMTP sink): renders, DKIM-signs (with `--dkim-key`)
//! and sends `--count` order-confirmation emails through the server's SMTP
//! transport (`Mailer`, pooled) with `--clients` concurrent senders, and
//! prints one JSON line: emails per second and the p50/p99 time of one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use lettre::message::Mailbox;
use serde_json::json;
use storekeep::config::{MailSettings, MailTransport, Secret, SmtpTls};
use storekeep::mail::dkim::DkimKey;
use storekeep::mail::templates::{self, Branding, Context, Kind, LineSummary, OrderSummary};
use storekeep::mail::{Email, Mailer};

#[derive(Parser)]
struct Args {
    /// smtp://USER:PASS@127.0.0.1:PORT (plaintext: the sink is on loopback).
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 2000)]
    count: usize,
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// An RSA or Ed25519 private key (PEM): sign every message.
    #[arg(long)]
    dkim_key: Option<std::path::PathBuf>,
}

fn order_context() -> Context {
    let mut c = Context::new(Branding::new(
        "Acme Refurb",
        Some("https://cdn.acme.example/logo.png"),
        Some("#0b3d2e"),
        Some("#ffb400"),
    ));
    let line = |i: usize| LineSummary {
        title: format!("Refurbished ThinkPad T48{i}"),
        sku: format!("TP-T48{i}"),
        quantity: 1,
        unit_price: templates::format_money(34_900, "USD"),
        total: templates::format_money(34_900, "USD"),
    };
    c.order = Some(OrderSummary {
        number: "7F3A9C21".into(),
        status: "pending payment".into(),
        lines: (0..3).map(line).collect(),
        subtotal: "$1,047.00".into(),
        discount: None,
        shipping: "$5.99".into(),
        shipping_method: "standard".into(),
        tax: "$62.82".into(),
        total: "$1,115.81".into(),
        refunded: None,
        address: vec![
            "Ada Lovelace".into(),
            "1 Analytical Way".into(),
            "San Francisco CA 94105".into(),
            "US".into(),
        ],
    });
    c
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = MailSettings {
        transport: MailTransport::Smtp,
        smtp_url: Some(Secret::new(args.url.clone())),
        smtp_tls: Some(SmtpTls::None),
        smtp_pool_size: u32::try_from(args.clients)?,
        smtp_timeout: Duration::from_secs(10),
        ..MailSettings::default()
    };
    let mailer = Mailer::from_settings(&settings, std::path::Path::new("."))?;
    let dkim = match &args.dkim_key {
        Some(path) => Some(
            DkimKey::new("sk1", "acme.example", &std::fs::read_to_string(path)?)
                .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let context = Arc::new(order_context());
    let one = {
        let (mailer, context, dkim) = (mailer.clone(), context.clone(), dkim.clone());
        move |i: usize| {
            let (mailer, context, dkim) = (mailer.clone(), context.clone(), dkim.clone());
            async move {
                let started = Instant::now();
                let rendered = templates::render(Kind::OrderPlaced, &context)?;
                let email = Email {
                    template: Kind::OrderPlaced.name(),
                    from: "\"Acme Refurb\" <hello@acme.example>".parse::<Mailbox>()?,
                    reply_to: None,
                    to: format!("buyer{i}@example.com"),
                    subject: rendered.subject,
                    text: rendered.text,
                    html: rendered.html,
                    dkim,
                    message_id: None,
                };
                mailer.send(&email).await?;
                anyhow::Ok(started.elapsed())
            }
        }
    };
    for i in 0..args.clients * 4 {
        one(i).await?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (next, one, count) = (next.clone(), one.clone(), args.count);
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                took.push(one(count).await?);
            }
            anyhow::Ok(took)
        }));
    }
    let mut took = Vec::new();
    for t in tasks {
        took.extend(t.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    took.sort();
    let ms =
        |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{}",
        json!({
            "emails": took.len(), "clients": args.clients, "dkim": args.dkim_key.is_some(),
            "seconds": seconds, "per_second": took.len() as f64 / seconds,
            "p50_ms": ms(0.5), "p99_ms": ms(0.99),
        })
    );
    Ok(())
}
