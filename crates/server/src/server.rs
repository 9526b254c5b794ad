//! Assembles the server: store, registry, routes; starts and stops it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::{header, HeaderValue, StatusCode};
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth::revocation::Revocations;
use crate::auth::secret_in;
use crate::auth::token::{TokenConfig, Tokens};
use crate::config::ServeConfig;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::state::{AppState, MetricsAccess};
use crate::store::Store;
use crate::{api, demo, listener, socket, web};
use meetbridge_identity::oidc::{Oidc, OidcConfig};

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `--metrics-listen` moved it.
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// This node's link to the cluster, in cluster mode.
    pub fn cluster(&self) -> Option<&Arc<crate::cluster::Cluster>> {
        self.state.hub.cluster.as_ref()
    }
}

impl Server {
    /// Closes every connection (1001 going away) and waits for the server to finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.task).await;
        if let Some(cluster) = &self.state.hub.cluster {
            cluster.leave().await;
        }
    }

    /// Runs until Ctrl-C or SIGTERM.
    pub async fn run_until_signal(self) {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
        }
        tracing::info!("stopping");
        self.stop().await;
    }
}

/// Raises the soft limit of open files to the hard limit (many sockets); the limit in
/// force afterwards, 0 when it cannot be read.
fn raise_nofile_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the limit of open files");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
        }
    }
}

/// Every route: the WebSocket, health, the API, and the static files as the fallback.
pub fn router(state: AppState, config: &ServeConfig) -> Router {
    let request_timeout = Duration::from_secs(config.connections.request_timeout_secs.max(1));
    Router::new()
        .route("/ws", get(socket::upgrade))
        .route("/healthz", get(healthz))
        .merge(api::routes())
        .merge(web::routes(
            &config.web_dir,
            &config.webapp3_dir,
            &config.ws_urls,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(listener::reserve_for_operators))
        // Every answer: no content sniffing, no full URLs (meeting ids) leaked to the
        // plugins' and Web App 3's origins.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .with_state(state)
}

/// `/metrics` and `/healthz` alone on their own address (`--metrics-listen`), for a
/// scraper on a private network.
async fn serve_metrics(
    at: SocketAddr,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(at)
        .await
        .with_context(|| format!("binding {at} for /metrics"))?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(api::metrics_here))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(state);
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    tracing::info!(%addr, "metrics on their own address");
    Ok(addr)
}

/// Reads the store's revocations again every few seconds, so what another server of a
/// cluster revoked closes sockets here too.
fn spawn_revocation_reload(
    store: Arc<dyn Store>,
    tokens: Arc<Tokens>,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(10)) => {}
            }
            let store = store.clone();
            match tokio::task::spawn_blocking(move || store.revocations()).await {
                Ok(Ok(list)) => tokens.revocations.replace(list),
                Ok(Err(e)) => tracing::warn!(error = %e, "reading revocations failed"),
                Err(_) => {}
            }
        }
    });
}

/// Opens the store, seeds the demo if asked, binds and serves in the background.
pub async fn start(config: ServeConfig) -> anyhow::Result<Server> {
    let nofile = raise_nofile_limit();
    let data_dir = config.data.data_dir.clone();
    let token_secret = secret_in(
        &data_dir,
        "token-secret",
        config.data.token_secret.as_deref(),
    )?;
    let admin_key = secret_in(&data_dir, "admin-key", config.admin_key.as_deref())?;
    let data = config.data.clone();
    let broker = config.cluster.broker.clone();
    if broker.is_some() && !data.store.starts_with("postgres") {
        anyhow::bail!(
            "--broker needs a store every node shares: give --store postgres://USER@HOST:PORT/DB"
        );
    }
    // Without a broker this node numbers the messages itself: one node per schema.
    let numbering = broker.is_none();
    let store: Arc<dyn Store> =
        tokio::task::spawn_blocking(move || data.open_store_for(numbering)).await??;
    tracing::info!(store = store.kind(), "store open");
    let cluster = match &broker {
        Some(url) => {
            // JetStream remembers message ids as long as the nodes do (`--dedup-age-secs`).
            let ids_for = Duration::from_secs(config.limits.dedup_age_secs.max(1));
            Some(crate::cluster::Cluster::connect(&config.cluster, url, ids_for).await?)
        }
        None => None,
    };
    let policy = meetbridge_protocol::plugin_url::PluginUrlPolicy {
        allow_http: config.identity.allow_http_plugins,
        allowed_origins: &[],
    };
    let demo_space = if config.demo {
        let seed = demo::load_seed(config.demo_seed.as_deref())?;
        demo::check_seed(&seed, &policy)?;
        let space = seed.space.id.clone();
        let store = store.clone();
        tokio::task::spawn_blocking(move || demo::apply(&*store, &seed)).await??;
        Some(space)
    } else {
        None
    };
    let metrics = Arc::new(Metrics::default());
    crate::trim::spawn(metrics.clone());
    let gate = listener::Gate::new(&config.connections, nofile, metrics.clone());
    tracing::info!(
        open_files = nofile,
        max_connections = gate.max(),
        reserve = config.connections.connection_reserve,
        per_ip = config.connections.max_connections_per_ip,
        "connection limits"
    );
    let limits = config.limits.clone();
    let hub = {
        let store = store.clone();
        let metrics = metrics.clone();
        let cluster = cluster.clone();
        Arc::new(
            tokio::task::spawn_blocking(move || Hub::new(store, limits, metrics, cluster))
                .await??,
        )
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    if let Some(cluster) = &cluster {
        cluster.run(hub.clone(), shutdown_rx.clone());
    }
    spawn_pruner(hub.clone(), shutdown_rx.clone());
    spawn_sweeper(hub.clone(), shutdown_rx.clone());
    let revoked = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.revocations()).await??
    };
    let identity = &config.identity;
    let tokens = Arc::new(Tokens::new(
        TokenConfig {
            hs256_secret: token_secret,
            jwks_url: identity.jwks_url.clone(),
            issuer: identity.jwt_issuer.clone(),
            audience: identity.jwt_audience.clone(),
        },
        Arc::new(Revocations::new(revoked)),
    ));
    if let Some(jwks) = tokens.verifier().jwks() {
        jwks.spawn_refresh();
    }
    spawn_revocation_reload(store.clone(), tokens.clone(), shutdown_rx.clone());
    let oidc = match (&identity.oidc_issuer, &identity.oidc_client_id) {
        (Some(issuer), Some(client_id)) => Some(Arc::new(Oidc::new(OidcConfig {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            client_secret: identity.oidc_client_secret.clone(),
        }))),
        _ => None,
    };
    let embed_origins = identity
        .embed_origins
        .iter()
        .map(|o| meetbridge_identity::embed::check_origin(o).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<String>>>()?;
    for url in &config.ws_urls {
        crate::web::ws_origin(url).map_err(anyhow::Error::msg)?;
    }
    let state = AppState {
        hub,
        tokens,
        admin_key: admin_key.into(),
        oidc,
        embed_origins: embed_origins.into(),
        ws_urls: config.ws_urls.clone().into(),
        allow_http_plugins: identity.allow_http_plugins,
        dev_login: config.demo,
        demo_space,
        shutdown: shutdown_rx.clone(),
        allowed_origins: config.allowed_origins.clone().into(),
        metrics_access: match (&config.metrics_listen, &config.metrics_key) {
            (Some(_), _) => MetricsAccess::Elsewhere,
            (None, Some(key)) => MetricsAccess::Key(key.as_str().into()),
            (None, None) => MetricsAccess::Open,
        },
    };
    crate::memory::trim_every(Duration::from_secs(config.limits.trim_memory_secs));
    let metrics_addr = match config.metrics_listen {
        Some(at) => Some(serve_metrics(at, state.clone(), shutdown_rx.clone()).await?),
        None => None,
    };
    let app = router(state.clone(), &config);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let mut stop = shutdown_rx;
    let connections = config.connections.clone();
    let task = tokio::spawn(async move {
        listener::serve(listener, app, gate, &connections, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
    });
    Ok(Server {
        addr,
        metrics_addr,
        state,
        shutdown: shutdown_tx,
        task,
    })
}

/// Applies retention in the background, every `--prune-interval-secs`, off the async
/// threads; the hot path never waits for it (the store deletes in small batches).
fn spawn_pruner(hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    let every = std::time::Duration::from_secs(hub.limits.prune_interval_secs.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let hub = hub.clone();
            match tokio::task::spawn_blocking(move || hub.prune()).await {
                Ok(Ok(n)) if n > 0 => tracing::debug!(removed = n, "retention pruned"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "pruning failed; will retry"),
                Err(e) => tracing::warn!(error = %e, "pruning task failed"),
            }
        }
    });
}

/// How often rooms are swept: history past its age leaves memory, idle rooms unload.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Runs [`Hub::sweep`] every [`SWEEP_EVERY`], off the async threads.
fn spawn_sweeper(hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let hub = hub.clone();
            match tokio::task::spawn_blocking(move || hub.sweep()).await {
                Ok(n) if n > 0 => tracing::debug!(unloaded = n, "idle rooms unloaded"),
                _ => {}
            }
        }
    });
}

/// `ok` while the store (and in cluster mode NATS) answers; `503 degraded` naming what
/// does not (the node keeps its sockets and refuses what it cannot store with `internal`).
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (StatusCode, String) {
    if let Some(problem) = state.hub.cluster.as_ref().and_then(|c| c.broker_problem()) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("degraded: {problem}\n"),
        );
    }
    let store = state.hub.store.clone();
    let kind = store.kind();
    let check = tokio::task::spawn_blocking(move || store.check());
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Ok(Ok(()))) => (StatusCode::OK, "ok\n".into()),
        Ok(Ok(Err(e))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("degraded: the {kind} store fails: {e}\n"),
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("degraded: the {kind} store does not answer\n"),
        ),
    }
}
