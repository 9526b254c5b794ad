//! The WebSocket handshake of `GET /ws` (RFC 6455 over HTTP/1.1), done here rather than
//! by axum's extractor so that a connection owns its stream: it writes its frames itself,
//! vectored and without a buffer of its own ([`crate::writer`]), while tungstenite reads
//! and answers control frames.

use std::future::Future;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// An upgraded connection.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// A `GET` that asks to become a WebSocket.
pub struct WsUpgrade {
    key: HeaderValue,
    offered: Vec<HeaderValue>,
    protocol: Option<HeaderValue>,
    on_upgrade: hyper::upgrade::OnUpgrade,
    config: WebSocketConfig,
}

/// Why a request could not be upgraded.
pub struct NotUpgradable(&'static str);

impl IntoResponse for NotUpgradable {
    fn into_response(self) -> Response {
        let status = if self.0.starts_with("method") {
            StatusCode::METHOD_NOT_ALLOWED
        } else if self.0.contains("upgradable") {
            StatusCode::UPGRADE_REQUIRED
        } else {
            StatusCode::BAD_REQUEST
        };
        (status, self.0).into_response()
    }
}

fn header_is(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers
        .get(&name)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

fn header_has(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(&name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

impl<S: Send + Sync> FromRequestParts<S> for WsUpgrade {
    type Rejection = NotUpgradable;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET {
            return Err(NotUpgradable("method must be GET"));
        }
        if !header_has(&parts.headers, header::CONNECTION, "upgrade") {
            return Err(NotUpgradable("`Connection` must contain `upgrade`"));
        }
        if !header_is(&parts.headers, header::UPGRADE, "websocket") {
            return Err(NotUpgradable("`Upgrade` must be `websocket`"));
        }
        if !header_is(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(NotUpgradable("`Sec-WebSocket-Version` must be 13"));
        }
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or(NotUpgradable("`Sec-WebSocket-Key` is missing"))?;
        let on_upgrade = parts
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or(NotUpgradable("connection is not upgradable"))?;
        let offered = parts
            .headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .filter_map(|p| HeaderValue::from_bytes(p.trim_ascii()).ok())
            .filter(|p| !p.is_empty())
            .collect();
        Ok(WsUpgrade {
            key,
            offered,
            protocol: None,
            on_upgrade,
            config: WebSocketConfig::default(),
        })
    }
}

impl WsUpgrade {
    /// The subprotocols the client offered, in its order.
    pub fn requested_protocols(&self) -> impl Iterator<Item = &HeaderValue> {
        self.offered.iter()
    }

    /// Selects `protocol` if the client offered it.
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.protocol = self
            .offered
            .iter()
            .find(|p| p.as_bytes() == protocol.as_bytes())
            .cloned();
        self
    }

    /// How much one read takes from the socket.
    pub fn read_buffer_size(mut self, size: usize) -> Self {
        self.config.read_buffer_size = size;
        self
    }

    /// Largest message, and largest frame, accepted from the client.
    pub fn max_message_size(mut self, size: usize) -> Self {
        self.config.max_message_size = Some(size);
        self.config.max_frame_size = Some(size);
        self
    }

    /// Answers `101 Switching Protocols`; `serve` gets the socket once hyper hands it over.
    pub fn on_upgrade<F, Fut>(self, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let WsUpgrade {
            key,
            protocol,
            on_upgrade,
            mut config,
            ..
        } = self;
        // Frames are written by the connection itself (see `writer`); what tungstenite
        // writes (pongs, the close handshake) goes out at once.
        config.write_buffer_size = 0;
        tokio::spawn(async move {
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let socket = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            serve(socket).await;
        });
        let mut response = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(
                header::SEC_WEBSOCKET_ACCEPT,
                derive_accept_key(key.as_bytes()),
            )
            .body(Body::empty())
            .unwrap_or_default();
        if let Some(protocol) = protocol {
            response
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
        }
        response
    }
}
