//! Assembles the server: store, registry, routes; starts and stops it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ServeConfig;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::store::sqlite::SqliteStore;
use crate::store::Store;
use crate::token::{random_secret, TokenKey};
use crate::{api, demo, web, ws};

/// What every handler gets, explicitly.
#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub tokens: TokenKey,
    pub admin_key: Arc<str>,
    /// Demo mode: the dev-only login is on.
    pub dev_login: bool,
    pub demo_space: Option<String>,
    pub shutdown: watch::Receiver<bool>,
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Closes every connection (1001 going away) and waits for the server to finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.task).await;
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

/// Reads `<dir>/<file>`, or writes a new random secret there (mode 0600) and returns it.
pub fn secret_in(dir: &Path, file: &str, given: Option<&str>) -> anyhow::Result<String> {
    if let Some(given) = given.filter(|s| !s.is_empty()) {
        return Ok(given.to_owned());
    }
    let path = dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.to_owned());
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let secret = random_secret();
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(secret)
}

/// Raises the soft limit of open files to the hard limit (many sockets).
pub fn raise_nofile_limit() -> u64 {
    #[cfg(unix)]
    unsafe {
        // SAFETY: plain libc calls on a local struct.
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            if lim.rlim_cur < lim.rlim_max {
                lim.rlim_cur = lim.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
            #[allow(clippy::unnecessary_cast)]
            return lim.rlim_cur as u64;
        }
    }
    0
}

pub fn router(state: AppState, config: &ServeConfig) -> Router {
    Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(api::metrics))
        .merge(api::routes())
        .merge(web::routes(&config.web_dir, &config.webapp3_dir))
        .with_state(state)
}

/// Opens the store, seeds the demo if asked, binds and serves in the background.
pub async fn start(config: ServeConfig) -> anyhow::Result<Server> {
    raise_nofile_limit();
    let data_dir = config.data.data_dir.clone();
    let token_secret = secret_in(
        &data_dir,
        "token-secret",
        config.data.token_secret.as_deref(),
    )?;
    let admin_key = secret_in(&data_dir, "admin-key", config.admin_key.as_deref())?;
    let sync = config.data.sqlite_sync;
    let store: Arc<dyn Store> =
        Arc::new(tokio::task::spawn_blocking(move || SqliteStore::open(&data_dir, sync)).await??);
    let demo_space = if config.demo {
        let seed = demo::load_seed(config.demo_seed.as_deref())?;
        let space = seed.space.id.clone();
        let store = store.clone();
        tokio::task::spawn_blocking(move || demo::apply(&*store, &seed)).await??;
        Some(space)
    } else {
        None
    };
    let metrics = Arc::new(Metrics::default());
    let limits = config.limits.clone();
    let hub = {
        let store = store.clone();
        let metrics = metrics.clone();
        Arc::new(tokio::task::spawn_blocking(move || Hub::new(store, limits, metrics)).await??)
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let state = AppState {
        hub,
        tokens: TokenKey::new(token_secret),
        admin_key: admin_key.into(),
        dev_login: config.demo,
        demo_space,
        shutdown: shutdown_rx.clone(),
    };
    let app = router(state.clone(), &config);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    // Frames are batched by the connection tasks; Nagle would only add delay on top.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    });
    let mut stop = shutdown_rx;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Server {
        addr,
        state,
        shutdown: shutdown_tx,
        task,
    })
}
