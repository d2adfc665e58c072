//! Builds the application and runs it until told to stop, then shuts down
//! gracefully: readiness turns false at once, the listener keeps serving
//! for the drain period so load balancers move away, then stops accepting;
//! requests in flight finish (bounded by the grace period) and the pool is
//! closed. Connections are served by [`crate::http::server`], which caps
//! them and times out slow headers and idle keep-alives.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use storekeep_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::AppState;
use crate::config::Settings;
use crate::services::Services;

/// How to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: turn unready, keep serving for `shutdown.drain_secs`, then drain.
    Drain,
    /// SIGINT (Ctrl-C): skip the drain period; in-flight requests still finish.
    Immediate,
}

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let keyring = settings.load_keyring()?;
        let mut services = Services::new(store, settings, keyring)?;
        services.set_self_address(listener.local_addr().context("reading the bound address")?);
        let state = AppState::from_services(services);
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `stop` resolves, then shuts down gracefully.
    pub async fn run_until(
        self,
        stop: impl Future<Output = Stop> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state;
        let router = crate::http::build_router(state.clone());
        let drain = state.services.settings.drain;
        let grace = state.services.settings.grace;
        let (stopping_tx, mut stopping_rx) = watch::channel(None::<Stop>);

        // Background work: the job runner (order expiry among its
        // periodic jobs), unless this node leaves jobs to others.
        let (bg_stop, bg_rx) = watch::channel(false);
        let jobs = state
            .services
            .settings
            .jobs
            .enabled
            .then(|| tokio::spawn(crate::jobs::start(&state.services).run(bg_rx.clone())));
        // The last hour of this node's metrics, for the console's charts.
        let sampler = tokio::spawn(crate::metrics_history::run(
            state.services.metrics.clone(),
            bg_rx.clone(),
        ));
        // The outbox dispatcher, beside the runner that delivers its jobs.
        let dispatcher = state.services.settings.jobs.enabled.then(|| {
            tokio::spawn(crate::services::delivery::dispatch_loop(
                state.services.clone(),
                bg_rx,
            ))
        });

        let draining_state = state.clone();
        let graceful = async move {
            let how = stop.await;
            draining_state.start_draining();
            let _ = stopping_tx.send(Some(how));
            if how == Stop::Drain && !drain.is_zero() {
                tracing::info!(
                    drain_secs = drain.as_secs(),
                    "shutdown: readiness is false, draining"
                );
                tokio::time::sleep(drain).await;
            }
            tracing::info!("shutdown: no new connections, finishing requests in flight");
        };
        let settings = &state.services.settings;
        let limits = crate::http::server::Limits {
            header_read_timeout: settings.header_read_timeout,
            keep_alive_idle: settings.keep_alive_idle,
            max_connections: settings.max_connections(),
        };
        if let Some(files) = crate::config::open_file_limit()
            && limits.max_connections + 64 > files
        {
            tracing::warn!(
                max_connections = limits.max_connections,
                open_file_limit = files,
                "http.max_connections leaves fewer than 64 of the open-file limit for the database and files; raise `ulimit -n` or lower http.max_connections"
            );
        }
        let serve = crate::http::server::serve(
            self.listener,
            router,
            limits,
            state.services.metrics.clone(),
            graceful,
        );

        let deadline = async move {
            let Ok(how) = stopping_rx.wait_for(Option::is_some).await.map(|v| *v) else {
                return std::future::pending().await;
            };
            let drain = if how == Some(Stop::Drain) {
                drain
            } else {
                Default::default()
            };
            tokio::time::sleep(drain + grace).await;
        };

        tokio::select! {
            () = serve => {}
            () = deadline => tracing::warn!(
                grace_secs = grace.as_secs(),
                "shutdown: grace period over, exiting with requests still in flight"
            ),
        }
        let _ = bg_stop.send(true);
        if let Some(jobs) = jobs {
            let _ = jobs.await;
        }
        if let Some(dispatcher) = dispatcher {
            let _ = dispatcher.await;
        }
        let _ = sampler.await;
        // Work requests left behind (a reset's mail) finishes first.
        state.services.background.close();
        let _ = tokio::time::timeout(grace, state.services.background.wait()).await;
        state.services.store.close().await;
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// Resolves on SIGTERM (drain) or SIGINT (immediate).
pub async fn shutdown_signal() -> Stop {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = term.recv() => Stop::Drain,
            () = ctrl_c => Stop::Immediate,
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await;
        Stop::Immediate
    }
}
