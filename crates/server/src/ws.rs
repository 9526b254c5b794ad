//! The WebSocket endpoint, `GET /ws`: finds the token (query `?token=`, a subprotocol, or
//! `Authorization: Bearer`), then hands the socket to [`crate::connection`].

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use crate::connection;
use crate::server::AppState;
use crate::token::now_secs;

/// The subprotocol a browser offers beside its token: `new WebSocket(url, ["meetbridge", token])`.
pub const SUBPROTOCOL: &str = "meetbridge";

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    #[serde(default)]
    token: Option<String>,
}

/// Largest frame accepted from a client: room for a 2 MB message in its envelope; larger
/// frames still get a `too_large` error up to this size, beyond it the socket is closed.
const MAX_CLIENT_FRAME: usize = 8 * 1024 * 1024;

pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let offered: Vec<String> = ws
        .requested_protocols()
        .filter_map(|p| p.to_str().ok())
        .flat_map(|p| {
            p.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let from_protocol = offered.iter().find(|p| p.contains('.')).cloned();
    let token = query.token.or(bearer).or(from_protocol.clone());

    let mut ws = ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(64 * 1024)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME);
    // A browser that offered subprotocols fails the handshake unless one is selected.
    if offered.iter().any(|p| p == SUBPROTOCOL) {
        ws = ws.protocols([SUBPROTOCOL]);
    } else if let Some(p) = from_protocol {
        ws = ws.protocols([p]);
    }

    let verified = match token {
        None => Err("no token: pass ?token=, a subprotocol, or Authorization: Bearer".to_owned()),
        Some(t) => state
            .tokens
            .verify(&t, now_secs())
            .map_err(|e| e.to_string()),
    };
    let hub = state.hub.clone();
    let shutdown = state.shutdown.clone();
    ws.on_upgrade(move |socket| async move {
        match verified {
            Ok(claims) => connection::run(socket, hub, claims, shutdown).await,
            Err(why) => {
                hub.metrics
                    .error(meetbridge_protocol::bridge::ErrorCode::Unauthorized);
                connection::refuse(socket, why).await
            }
        }
    })
}
