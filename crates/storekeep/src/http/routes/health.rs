//! Health endpoints for load balancers, orchestrators and operators.
//!
//! - `live`: the process answers; touches nothing else.
//! - `ready`: this node should get traffic: database reachable, migrations
//!   applied, not draining for shutdown. The database is checked on the
//!   store's own health connection, never queued behind the pool, within
//!   `database.acquire_timeout_ms`; the migrations only until found current.
//!   Redis and the image store are checked at the same time and reported,
//!   but do not make the node unready: every node shares them, and the
//!   node still sells without them (see `DEPENDENCY_BOUND`).
//! - `health`: a short summary for humans and uptime checkers.
//! - `detailed`: operator-only facts with dependency latencies.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use storekeep_store::MigrationStatus;

use crate::app::AppState;
use crate::http::extract::{Json, PlatformOperator};
use crate::services;
use crate::wire::health::{Check, DatabaseDetail, Detailed, Liveness, Readiness, Summary};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(detailed))
}

/// How long readiness waits for Redis and for the image store. Neither
/// decides readiness (taking every node out of rotation because a shared
/// cache or bucket is down would stop sales they do not need); they are
/// reported so that the operator sees which dependency is down.
const DEPENDENCY_BOUND: Duration = Duration::from_millis(1000);

/// What readiness remembers between checks.
#[derive(Debug, Default)]
pub struct HealthMemory {
    /// The migration status first found current. Migrations only ever get
    /// applied, so once current it stays so for this process and readiness
    /// stops asking (a `--no-migrate` node keeps asking until someone
    /// migrates).
    migrations_current: OnceLock<MigrationStatus>,
    /// Whether the last check found the database down, so that an outage
    /// is logged when it starts and ends, not at every probe.
    database_down: AtomicBool,
    /// The same for the image store.
    media_down: AtomicBool,
}

/// What one readiness check found.
struct Probe {
    readiness: Readiness,
    /// The database round trip, failed or not.
    latency_ms: f64,
    migrations: Option<MigrationStatus>,
}

/// Checks the database on the store's own health connection (never queued
/// behind the pool, bounded by `database.acquire_timeout_ms`), then the
/// migrations, unless already seen current.
async fn probe(state: &AppState) -> Probe {
    let started = Instant::now();
    let database = async {
        let ping = services::health::ping(&state.services).await;
        (ping, started.elapsed().as_secs_f64() * 1000.0)
    };
    let ((ping, latency_ms), redis, media) =
        tokio::join!(database, redis_check(state), media_check(state));
    let was_down = state
        .health
        .database_down
        .swap(ping.is_err(), Ordering::Relaxed);
    let database = match &ping {
        Ok(()) => {
            if was_down {
                tracing::info!("readiness: the database answers again");
            }
            Check {
                ok: true,
                detail: None,
            }
        }
        Err(e) => {
            if !was_down {
                tracing::warn!(error = %e, "readiness: database unreachable");
            }
            Check {
                ok: false,
                detail: Some("database unreachable".into()),
            }
        }
    };
    let (migrations, status) = match (&ping, state.health.migrations_current.get()) {
        (Err(_), None) => (
            Check {
                ok: false,
                detail: Some("not checked: the database is unreachable".into()),
            },
            None,
        ),
        _ => migrations(state).await,
    };
    let status_word = if state.is_draining() {
        "draining"
    } else if database.ok && migrations.ok {
        "ready"
    } else {
        "not_ready"
    };
    Probe {
        readiness: Readiness {
            status: status_word,
            database,
            migrations,
            redis,
            media,
        },
        latency_ms,
        migrations: status,
    }
}

/// Redis, if configured, as the rate limiter and the read cache reach it
/// (each on its own connection; both must answer). Their own warnings log
/// an outage when it starts and ends.
async fn redis_check(state: &AppState) -> Option<Check> {
    let (limiter, cache) = tokio::join!(
        state.limiter.ping(DEPENDENCY_BOUND),
        services::health::cache_ping(&state.services, DEPENDENCY_BOUND)
    );
    if limiter.is_none() && cache.is_none() {
        return None;
    }
    let ok = limiter.is_none_or(|r| r.is_ok()) && cache.is_none_or(|r| r.is_ok());
    Some(Check {
        ok,
        detail: (!ok).then(|| {
            "redis unreachable: rate limits are per node, the read cache is bypassed".into()
        }),
    })
}

/// The image store: one metadata request.
async fn media_check(state: &AppState) -> Check {
    let result = services::health::media_check(&state.services, DEPENDENCY_BOUND).await;
    let was_down = state
        .health
        .media_down
        .swap(result.is_err(), Ordering::Relaxed);
    match result {
        Ok(()) => {
            if was_down {
                tracing::info!("readiness: the image store answers again");
            }
            Check {
                ok: true,
                detail: None,
            }
        }
        Err(e) => {
            if !was_down {
                tracing::warn!(error = e, "readiness: image store unreachable");
            }
            Check {
                ok: false,
                detail: Some("image store unreachable: image uploads and reads fail".into()),
            }
        }
    }
}

/// The migration check: the remembered status once it was current (it
/// cannot regress while this process runs), else a bounded query.
async fn migrations(state: &AppState) -> (Check, Option<MigrationStatus>) {
    if let Some(current) = state.health.migrations_current.get() {
        return (
            Check {
                ok: true,
                detail: None,
            },
            Some(current.clone()),
        );
    }
    let bound = state.services.settings.database_acquire_timeout;
    match tokio::time::timeout(bound, services::health::migration_status(&state.services)).await {
        Ok(Ok(s)) if s.is_current() => {
            let _ = state.health.migrations_current.set(s.clone());
            (
                Check {
                    ok: true,
                    detail: None,
                },
                Some(s),
            )
        }
        Ok(Ok(s)) => (
            Check {
                ok: false,
                detail: Some(format!("{} of {} migrations applied", s.applied, s.known)),
            },
            Some(s),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: migration state unknown");
            (
                Check {
                    ok: false,
                    detail: Some("migration state unknown".into()),
                },
                None,
            )
        }
        Err(_) => (
            Check {
                ok: false,
                detail: Some("migration state unknown: the database did not answer in time".into()),
            },
            None,
        ),
    }
}

fn with_status<T: Serialize>(ok: bool, body: T) -> Response {
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// The process is up. Never touches the database: a slow database must not
/// get a healthy process restarted.
#[utoipa::path(get, path = "/api/health/live", tag = "health",
    responses((status = 200, body = Liveness)))]
async fn live() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}

/// Whether this node is ready, by the same probe as `/api/health/ready`
/// (for the `storekeep_ready` gauge, set at each scrape).
pub(crate) async fn is_ready(state: &AppState) -> bool {
    probe(state).await.readiness.status == "ready"
}

/// 200 when this node should receive traffic, 503 (with the reasons) when not.
#[utoipa::path(get, path = "/api/health/ready", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
async fn ready(State(state): State<AppState>) -> Response {
    let r = probe(&state).await.readiness;
    with_status(r.status == "ready", r)
}

/// A one-word summary; 503 unless the node is ready.
#[utoipa::path(get, path = "/api/health", tag = "health",
    responses((status = 200, body = Summary), (status = 503, body = Summary)))]
async fn health(State(state): State<AppState>) -> Response {
    let r = probe(&state).await.readiness;
    let status = match r.status {
        "ready" => "ok",
        "draining" => "draining",
        _ => "degraded",
    };
    with_status(
        status == "ok",
        Summary {
            status,
            version: crate::VERSION,
        },
    )
}

/// Everything an operator wants at a glance. Needs the platform token.
#[utoipa::path(get, path = "/api/health/detailed", tag = "health",
    security(("platform_token" = [])),
    responses((status = 200, body = Detailed), (status = 503, body = Detailed),
        (status = 401, body = crate::wire::problem::Problem)))]
async fn detailed(_op: PlatformOperator, State(state): State<AppState>) -> Response {
    let body = detailed_facts(&state).await;
    with_status(body.status == "ready", body)
}

/// What `/api/health/detailed` answers (and the operators' console shows):
/// a readiness probe, this node's facts, the job queues and the backups.
pub async fn detailed_facts(state: &AppState) -> Detailed {
    let Probe {
        readiness: r,
        latency_ms,
        migrations,
    } = probe(state).await;
    state.services.backups.refresh().await;
    let pool = services::health::pool_stats(&state.services);
    Detailed {
        status: r.status,
        version: crate::VERSION,
        git_revision: crate::GIT_REVISION,
        uptime_seconds: state.started.elapsed().as_secs(),
        draining: state.is_draining(),
        database: DatabaseDetail {
            kind: services::health::database_kind(&state.services).as_str(),
            ok: r.database.ok,
            latency_ms,
            migrations_known: migrations.as_ref().map_or(0, |m| m.known),
            migrations_applied: migrations.as_ref().map_or(0, |m| m.applied),
            pool_open: pool.size,
            pool_idle: pool.idle,
            pool_max: pool.max,
        },
        redis: r.redis,
        media: r.media,
        rate_limiter: state.limiter.backend(),
        read_cache: state.services.cache.backend(),
        media_store: state.services.media.kind(),
        jobs: services::health::job_stats(&state.services),
        backups: state.services.backups.health(),
    }
}
