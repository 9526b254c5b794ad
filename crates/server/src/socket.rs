//! One WebSocket: the endpoint `GET /ws` (the token, the upgrade), then the loop that
//! reads, writes, coalesces, limits the rate and closes with a code that says why. What a
//! frame means is the [`Session`]'s business.
//!
//! A single task per connection both reads and writes (less memory than a task per
//! direction): it takes everything queued at once and writes it in one vectored write
//! ([`crate::writer`]), so a busy connection costs one system call per batch, not per
//! frame, and keeps no buffer between batches.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::{SinkExt, StreamExt};
use meetbridge_protocol::bridge::ErrorCode;
use serde::Deserialize;
use tokio::sync::watch;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::Message;

use crate::auth::token::{Claims, Rejection, Tokens};
use crate::auth::{self, SUBPROTOCOL};
use crate::hub::Hub;
use crate::listener::Admission;
use crate::outbox::{Batch, Outbox};
use crate::rate::{RateLimit, Verdict};
use crate::refusal::Refusal;
use crate::session::Session;
use crate::state::AppState;
use crate::upgrade::{Socket, WsUpgrade};
use crate::writer;

/// A client that does not take a batch within this time is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest frame accepted from a client: room for a 2 MB message in its envelope; larger
/// frames still get a `too_large` error up to this size, beyond it the socket is closed.
const MAX_CLIENT_FRAME: usize = 8 * 1024 * 1024;

/// Close code for "policy violation": bad token, flood.
const CLOSE_POLICY: u16 = 1008;
/// Close code for a WebSocket protocol error (a malformed or unmasked frame).
const CLOSE_PROTOCOL: u16 = 1002;
/// Close code for a text frame that is not UTF-8.
const CLOSE_NOT_UTF8: u16 = 1007;
/// Close code for a frame over the size limit.
const CLOSE_TOO_BIG: u16 = 1009;
/// Close code for "try again later": too slow to take its frames.
const CLOSE_TRY_AGAIN: u16 = 1013;
/// Close code for "going away": the server stops.
const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code sent after an `unauthorized` error (4000-4999 are the application's).
const CLOSE_UNAUTHORIZED: u16 = 4401;

/// Why the loop ended: a close code and reason to send, or `None` when the peer is gone.
type Close = Option<(u16, &'static str)>;

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    #[serde(default)]
    token: Option<String>,
}

/// `GET /ws`: finds the token (query `?token=`, `Authorization: Bearer`, or a
/// subprotocol), verifies it, and upgrades; a bad token is told why on the socket.
pub async fn upgrade(
    State(state): State<AppState>,
    admission: Option<Extension<Arc<Admission>>>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    ws: WsUpgrade,
) -> Response {
    // A browser says which page opens the socket; refuse pages not on the allow-list.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        if !state.origin_allowed(origin) {
            tracing::debug!(origin, "WebSocket from a page origin not allowed");
            return (
                StatusCode::FORBIDDEN,
                format!("origin {origin} may not open this server's WebSocket\n"),
            )
                .into_response();
        }
    }
    let offered = auth::offered_protocols(ws.requested_protocols());
    let from_protocol = auth::token_in_protocols(&offered).map(str::to_owned);
    let token = query
        .token
        .or_else(|| auth::bearer(&headers).map(str::to_owned))
        .or(from_protocol);

    let mut ws = ws
        .read_buffer_size(4 * 1024)
        .max_message_size(MAX_CLIENT_FRAME);
    // A browser that offered subprotocols fails the handshake unless one is selected; only
    // ours is ever selected, so the token is never echoed back in a response header.
    if offered.iter().any(|p| p == SUBPROTOCOL) {
        ws = ws.protocol(SUBPROTOCOL);
    }

    let verified = match token {
        None => Err(Rejection::Missing.to_string()),
        Some(t) => state.verify_token(&t).await.map_err(|e| e.to_string()),
    };
    let hub = state.hub.clone();
    let tokens = state.tokens.clone();
    let shutdown = state.shutdown.clone();
    ws.on_upgrade(move |socket| async move {
        // The socket keeps its place under the connection cap until it closes.
        let _admission = admission;
        match verified {
            Ok(claims) => run(socket, hub, tokens, claims, shutdown).await,
            Err(why) => {
                hub.metrics.error(ErrorCode::Unauthorized);
                refuse(socket, why).await
            }
        }
    })
}

/// Tells an unauthenticated client why, then closes.
async fn refuse(mut socket: Socket, why: String) {
    let frame = Refusal::new(ErrorCode::Unauthorized, why).frame(None, None, None);
    let _ = socket.send(Message::text(frame.to_text())).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::from(CLOSE_UNAUTHORIZED),
            reason: "unauthorized".into(),
        })))
        .await;
}

/// Serves one authenticated connection until it closes.
async fn run(
    mut socket: Socket,
    hub: Arc<Hub>,
    tokens: Arc<Tokens>,
    claims: Claims,
    mut shutdown: watch::Receiver<bool>,
) {
    // The token's end: its expiry, or a revocation that names it.
    let expiry = tokio::time::sleep(Tokens::expires_in(&claims));
    tokio::pin!(expiry);
    let mut revocations = tokens.revocations.changed();
    let kept = claims.clone();
    let metrics = hub.metrics.clone();
    metrics.connections_total.inc();
    metrics.connections_open.inc();
    let out = Outbox::new(
        hub.next_conn_id(),
        hub.limits.send_queue,
        hub.limits.send_queue_bytes,
        metrics.clone(),
    );
    let mut rate = RateLimit::new(hub.limits.rate_rule(), Instant::now());
    let coalesce = Duration::from_millis(hub.limits.coalesce_ms);
    let ping_secs = hub.limits.ws_ping_secs;
    tokens.revocations.opened(out.id(), &claims);
    let mut session = Session::start(hub, out.clone(), claims);
    tracing::debug!(conn = out.id(), user = %session.user(), "connected");

    let mut last_write: Option<tokio::time::Instant> = None;
    // Frames held back while a busy connection's coalescing window runs; reading goes on,
    // and what is queued meanwhile goes out with them.
    let mut held = Batch::default();
    let mut due = tokio::time::Instant::now();
    // Pings find dead peers: a connection silent for a whole period after a ping is gone.
    let ping_every = Duration::from_secs(ping_secs.max(1));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = true;
    let close = loop {
        if out.too_slow() {
            break Some((CLOSE_TRY_AGAIN, "too slow: send queue full"));
        }
        if held.is_empty() {
            let batch = out.take();
            if !batch.is_empty() {
                // Busy connection: let more frames gather, one write for all of them.
                let now = tokio::time::Instant::now();
                match last_write.map(|t| t + coalesce) {
                    Some(next) if coalesce > Duration::ZERO && now < next => {
                        held = batch;
                        due = next;
                    }
                    _ => {
                        if let Err(close) = write_out(&mut socket, batch, &out).await {
                            break close;
                        }
                        last_write = Some(tokio::time::Instant::now());
                        continue;
                    }
                }
            }
        }
        tokio::select! {
            _ = shutdown.changed() => break Some((CLOSE_GOING_AWAY, "server stopping")),
            _ = ping.tick(), if ping_secs > 0 => {
                if !heard {
                    metrics.dead_peers.inc();
                    tracing::debug!(conn = out.id(), "no answer to a ping: peer gone");
                    break None;
                }
                heard = false;
                out.send_ping();
            }
            _ = &mut expiry => {
                tracing::info!(conn = out.id(), user = %session.user(), reason = "token_expired", "closing: token expired");
                break Some((CLOSE_UNAUTHORIZED, "token expired: reconnect with a fresh token"));
            }
            Ok(()) = revocations.changed() => {
                if let Err(rejection) = tokens.still_valid(&kept) {
                    tracing::info!(conn = out.id(), user = %session.user(), reason = rejection.code(), "closing: {rejection}");
                    break Some((CLOSE_UNAUTHORIZED, "token revoked"));
                }
            }
            _ = out.woken(), if held.is_empty() => {}
            _ = tokio::time::sleep_until(due), if !held.is_empty() => {
                let mut batch = std::mem::take(&mut held);
                batch.append(out.take());
                if let Err(close) = write_out(&mut socket, batch, &out).await {
                    break close;
                }
                last_write = Some(tokio::time::Instant::now());
            }
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    heard = true;
                    metrics.frames_in.inc();
                    // Decided on the length alone: a refused frame is never parsed.
                    match rate.check(text.len(), Instant::now()) {
                        Verdict::Allow => session.on_text(&text),
                        Verdict::Refuse => session.rate_limited(&text),
                        Verdict::Abuse => break Some((CLOSE_POLICY, "flood")),
                    }
                }
                Some(Ok(Message::Binary(data))) => {
                    heard = true;
                    metrics.frames_in.inc();
                    match rate.check(data.len(), Instant::now()) {
                        Verdict::Allow => session.binary(),
                        Verdict::Refuse => {}
                        Verdict::Abuse => break Some((CLOSE_POLICY, "flood")),
                    }
                }
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Ok(_)) => heard = true,
                Some(Err(e)) => {
                    tracing::debug!(conn = out.id(), error = %e, "socket error");
                    break close_for(e);
                }
            },
        }
    };
    out.close();
    if let Some((code, reason)) = close {
        // Boxed, as the writes are: a connection at rest does not carry their state.
        let _ = Box::pin(tokio::time::timeout(Duration::from_secs(1), async {
            // What was queued (the errors that explain a flood, say) goes first, unless
            // the connection is being closed for being too slow to take it.
            if code != CLOSE_TRY_AGAIN {
                let mut batch = held;
                batch.append(out.take());
                if !batch.frames.is_empty() && socket.flush().await.is_ok() {
                    let frames = batch.frames.make_contiguous();
                    let _ = writer::write_text_frames(socket.get_mut(), frames).await;
                }
            }
            let closing = Message::Close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            }));
            if socket.send(closing).await.is_ok() {
                // The closing handshake: read on until the client's close, so what it
                // had still in flight does not make the kernel reset the connection
                // before the client has read why it was closed.
                while let Some(Ok(_)) = socket.next().await {}
            }
        }))
        .await;
    }
    session.end();
    tokens.revocations.closed(out.id());
    metrics.connections_open.dec();
    tracing::debug!(conn = out.id(), user = %session.user(), ?close, "disconnected");
}

/// The close code that tells a client what was wrong with what it sent (RFC 6455 7.4.1),
/// or `None` when the connection itself failed.
fn close_for(error: tungstenite::Error) -> Close {
    use tungstenite::Error;
    match error {
        Error::Capacity(_) => Some((CLOSE_TOO_BIG, "frame too large")),
        Error::Utf8(_) => Some((CLOSE_NOT_UTF8, "text frame is not UTF-8")),
        Error::Protocol(_) => Some((CLOSE_PROTOCOL, "websocket protocol error")),
        _ => None,
    }
}

/// Writes `frames` within [`WRITE_TIMEOUT`], giving up at once if the connection is
/// marked too slow meanwhile. The write is boxed: a connection at rest does not carry
/// its state.
async fn write_out(socket: &mut Socket, mut batch: Batch, out: &Outbox) -> Result<(), Close> {
    let started = Instant::now();
    let write = Box::pin(tokio::time::timeout(WRITE_TIMEOUT, async {
        // Whatever tungstenite has pending (a pong) goes out before these frames.
        socket.flush().await.map_err(std::io::Error::other)?;
        writer::write_text_frames(socket.get_mut(), batch.frames.make_contiguous()).await?;
        if batch.ping {
            let ping = Message::Ping(Default::default());
            socket.send(ping).await.map_err(std::io::Error::other)?;
        }
        Ok::<(), std::io::Error>(())
    }));
    let too_slow = async {
        loop {
            out.woken().await;
            if out.too_slow() {
                return;
            }
        }
    };
    tokio::select! {
        written = write => match written {
            Ok(Ok(())) => {
                out.metrics().write.observe_time(started.elapsed());
                Ok(())
            }
            Ok(Err(_)) => Err(None),
            Err(_) => {
                out.write_timed_out();
                Err(Some((CLOSE_TRY_AGAIN, "too slow: write timed out")))
            }
        },
        _ = too_slow => Err(Some((CLOSE_TRY_AGAIN, "too slow: send queue full"))),
    }
}
