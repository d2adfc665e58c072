//! `scripts/bench webhooks` (run it through the script).
//!
//! `receive`: a bare axum receiver answering `POST /hook` with 204 after
//! reading the body: the local endpoint deliveries go to, whose own
//! ceiling the script measures with wrk in the same run.
//!
//! `deliver`: sets up a shop and an endpoint on a fresh SQLite or
//! PostgreSQL database, then calls `services::webhooks::deliver` — sign,
//! send, record the attempt — COUNT times with CLIENTS concurrent callers
//! and prints one JSON line: deliveries per second, p50 and p99.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use storekeep::config::Settings;
use storekeep::crypto::Keyring;
use storekeep::services::{Services, tenants, webhooks};
use storekeep::wire::tenants::NewTenantInput;
use storekeep::wire::webhooks::NewWebhookInput;
use storekeep_domain::{AuditContext, EventId, OutboxEvent};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    Receive {
        #[arg(long)]
        listen: String,
    },
    Deliver {
        /// `sqlite://path` or `postgres://...`.
        #[arg(long)]
        db: String,
        /// The receiver's URL, e.g. `http://127.0.0.1:PORT/hook`.
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "5000")]
        count: usize,
        #[arg(long, default_value = "64")]
        clients: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.what {
        What::Receive { listen } => rt.block_on(receive(&listen)),
        What::Deliver {
            db,
            url,
            count,
            clients,
        } => rt.block_on(deliver(&db, &url, count, clients)),
    }
}

async fn receive(listen: &str) -> anyhow::Result<()> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(|_body: axum::body::Bytes| async {
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on {listen}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn deliver(db: &str, url: &str, count: usize, clients: usize) -> anyhow::Result<()> {
    let (keys, index) = Keyring::generate();
    let mut settings = Settings {
        database_url: Some(storekeep::config::Secret::new(db.to_owned())),
        database_max_connections: 32,
        ..Settings::default()
    };
    settings.webhooks.allow_networks = vec!["127.0.0.1/32".parse()?];
    settings.data_dir = std::env::temp_dir();
    let store = storekeep::db::connect_and_migrate(&settings).await?;
    let keyring = Keyring::parse(&keys, &index).map_err(anyhow::Error::msg)?;
    let svc = Arc::new(Services::new(store, settings, keyring)?);
    let audit = AuditContext {
        actor: "bench".into(),
        ip: None,
        request_id: None,
    };
    let tenant = tenants::create(
        svc.store.as_ref(),
        None,
        &NewTenantInput {
            slug: "bench".into(),
            name: "Bench".into(),
            plan: None,
            domains: vec![],
            settings: None,
        },
        &audit,
    )
    .await?;
    let input = NewWebhookInput {
        url: url.to_owned(),
        description: "bench".into(),
        events: vec![],
    };
    let (endpoint, _) = webhooks::create(&svc, tenant.id, &input, &audit).await?;
    let event = Arc::new(OutboxEvent {
        id: EventId::new(),
        topic: "order.paid".into(),
        subject: "order:bench".into(),
        payload: serde_json::json!({"order_id": "0199a3e4-5b6c-7d8e-9f01-23456789abcd",
            "from": "pending_payment", "to": "paid", "actor": "provider:test", "reason": null}),
        created_at: storekeep_store::now(),
    });
    // Warm-up: connections to the receiver and the database.
    for _ in 0..clients.min(count) {
        webhooks::deliver(&svc, tenant.id, endpoint.id, &event, 1).await?;
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (svc, event, next) = (svc.clone(), event.clone(), next.clone());
        let (tenant, endpoint) = (tenant.id, endpoint.id);
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                let t = Instant::now();
                webhooks::deliver(&svc, tenant, endpoint, &event, 1)
                    .await
                    .expect("a delivery to the local receiver succeeds");
                took.push(t.elapsed());
            }
            took
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{}",
        serde_json::json!({
            "deliveries": all.len(), "clients": clients,
            "per_sec": (all.len() as f64 / elapsed).round(),
            "p50_ms": pct(0.50).as_secs_f64() * 1000.0,
            "p99_ms": pct(0.99).as_secs_f64() * 1000.0,
        })
    );
    Ok(())
}
