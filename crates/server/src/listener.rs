//! Accepts TCP connections and serves HTTP on them, within limits: how many connections
//! are open (globally and per source address), how long a client may take to send a
//! request's headers (which also bounds how long a kept-alive connection may sit idle),
//! and how long a whole non-WebSocket request may take.
//!
//! The last `reserve` places under the global cap are kept for operators: a connection
//! admitted into them may only ask for `/healthz`, `/metrics` or the admin API (anything
//! else gets 503) and is not kept alive, so a server full of idle or hostile sockets still
//! answers its health check and its admin. A WebSocket keeps its place until it closes:
//! the [`Admission`] travels with the upgraded socket.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::ConnectionLimits;
use crate::metrics::Metrics;

/// Files the process keeps for itself when the connection cap is derived from the
/// open-file limit.
const FILES_KEPT: u64 = 128;

/// Who may come in: the counts of open connections, globally and per address.
pub struct Gate {
    max: usize,
    reserve: usize,
    per_ip: usize,
    open: AtomicUsize,
    by_ip: Mutex<HashMap<IpAddr, usize>>,
    metrics: Arc<Metrics>,
}

/// One admitted connection's place; given back when the last holder (the HTTP
/// connection, or the WebSocket it became) lets go.
pub struct Admission {
    gate: Arc<Gate>,
    ip: IpAddr,
    /// Admitted into the operators' reserve.
    pub reserved: bool,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Full,
    PerIp,
}

impl Gate {
    /// A gate for `limits`, the cap derived from `nofile` (the effective open-file limit)
    /// when not given.
    pub fn new(limits: &ConnectionLimits, nofile: u64, metrics: Arc<Metrics>) -> Arc<Self> {
        let max = if limits.max_connections > 0 {
            limits.max_connections
        } else if nofile == 0 {
            // The limit could not be read: accept will say when it is reached.
            usize::MAX
        } else {
            usize::try_from(nofile.saturating_sub(FILES_KEPT))
                .unwrap_or(usize::MAX)
                .max(64)
        };
        Arc::new(Gate {
            max,
            reserve: limits.connection_reserve.min(max.saturating_sub(1)),
            per_ip: limits.max_connections_per_ip,
            open: AtomicUsize::new(0),
            by_ip: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// The global cap in force.
    pub fn max(&self) -> usize {
        self.max
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Admits a connection from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Arc<Admission>, Refused> {
        let mut by_ip = self.by_ip.lock().unwrap_or_else(|e| e.into_inner());
        let open = self.open.load(Ordering::Relaxed);
        if open >= self.max {
            return Err(Refused::Full);
        }
        let from_ip = by_ip.entry(ip).or_insert(0);
        if self.per_ip > 0 && *from_ip >= self.per_ip {
            return Err(Refused::PerIp);
        }
        *from_ip += 1;
        self.open.store(open + 1, Ordering::Relaxed);
        Ok(Arc::new(Admission {
            gate: self.clone(),
            ip,
            reserved: open >= self.max - self.reserve,
        }))
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut by_ip = self.gate.by_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                by_ip.remove(&self.ip);
            }
        }
        self.gate.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Paths a connection in the operators' reserve may ask for.
fn for_operators(path: &str) -> bool {
    path == "/healthz" || path == "/metrics" || path.starts_with("/api/admin/")
}

/// Middleware: a connection admitted into the reserve only reaches the operators' paths.
pub async fn reserve_for_operators(request: Request, next: Next) -> Response {
    let reserved = request
        .extensions()
        .get::<Arc<Admission>>()
        .is_some_and(|a| a.reserved);
    if reserved && !for_operators(request.uri().path()) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5"), (header::CONNECTION, "close")],
            "the server is at its connection limit; retry shortly\n",
        )
            .into_response();
    }
    next.run(request).await
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    gate: Arc<Gate>,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let header_timeout = Duration::from_secs(limits.header_read_timeout_secs.max(1));
    // Told to every connection task at shutdown; closed once they have all ended.
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    let metrics = gate.metrics.clone();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors (or another transient error): wait a moment
                    // rather than spin; the connections that close make room.
                    tracing::warn!(error = %e, "accept failed");
                    metrics.refused_connection("accept_error");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let admission = match gate.admit(peer.ip()) {
            Ok(admission) => admission,
            Err(why) => {
                metrics.refused_connection(match why {
                    Refused::Full => "full",
                    Refused::PerIp => "per_ip",
                });
                tracing::debug!(%peer, ?why, "connection refused");
                drop(tcp);
                continue;
            }
        };
        // Frames are batched by the connection tasks; Nagle would only add delay on top.
        let _ = tcp.set_nodelay(true);
        let service = {
            let app = app.clone();
            let admission = admission.clone();
            tower::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(admission.clone());
                app.clone().oneshot(request.map(axum::body::Body::new))
            })
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(!admission.reserved);
        let conn = http
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service))
            .with_upgrades();
        let mut stopping = stopping_rx.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = async { let _ = stopping.wait_for(|s| *s).await; } => {
                    // Finish the request in progress, then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "http connection ended");
            }
            drop((admission, stopping));
        });
    }
    drop(listener);
    // Open requests finish; WebSockets are closed by their own tasks (1001).
    let _ = stopping_tx.send(true);
    drop(stopping_rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), stopping_tx.closed()).await;
    Ok(())
}
