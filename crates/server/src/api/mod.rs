//! HTTP API: [`admin`] (guarded by the admin key), [`participant`] (guarded by a
//! participant token), [`dev`] (the dev-only login of demo mode), and the public
//! `/api/info` and `/metrics`; [`error`] is the one error shape, `objects` what the
//! admin and participant APIs create alike.
//!
//! ```text
//! GET  /api/info                              public: dev login on?, demo space, limits
//! POST /api/dev/login            {name}       demo mode only: a token for a typed name
//! GET  /api/spaces/{space}                    participant: the space, its objects, may I create?
//! GET  /api/spaces/{space}/objects            participant: the space's objects
//! GET  /api/spaces/{space}/objects/{object}   participant: one object (404: no such meeting)
//! POST /api/spaces/{space}/objects            participant: create a dynamic object (host = you)
//! GET  /api/admin/spaces                      admin (an owner: theirs)
//! POST /api/admin/spaces         {id?, name, settings?}  admin
//! PATCH  /api/admin/spaces/{space}  {name?, settings?}   admin or owner: rename, settings
//! DELETE /api/admin/spaces/{space}            admin: the space, its objects and their data
//! GET  /api/admin/spaces/{space}/objects      admin or owner
//! POST /api/admin/spaces/{space}/objects      {id?, name?, type, pluginUrl, settings?, creator?, position?}
//! PATCH  /api/admin/spaces/{space}/objects/{object}   edit: given = set, null = clear
//! DELETE /api/admin/spaces/{space}/objects/{object}   the object, its saved data and log
//! GET  /api/admin/spaces/{space}/presence     who is present on which object
//! POST /api/admin/tokens         {id, name, ...}  admin: a participant token (HS256 JWT)
//! GET  /api/admin/revocations                 admin: revoked tokens and users
//! POST /api/admin/revocations    {jti | sub, reason?}  admin: revoke; open sockets close (4401)
//! GET  /api/auth/config                       public: how pages sign in (OIDC, dev login, embedding)
//! GET  /api/auth/session                      participant: what the server makes of a token
//! POST /api/auth/oidc/token      {code, codeVerifier, redirectUri, nonce, space?}
//!                                             public: trades an OIDC code for a session token
//! ```
//!
//! Admin endpoints take the admin key, or a participant token whose role is `admin` (every
//! space) or `owner` (the space it is scoped to). Every change of a space's objects is
//! told to its connected pages in a `floor` frame. Request bodies are read by [`body`],
//! so a refusal names the field.

pub mod admin;
pub mod auth;
pub mod body;
pub mod dev;
pub mod error;
mod objects;
pub mod participant;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};

use crate::state::{AppState, MetricsAccess};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/info", get(info))
        .route("/metrics", get(metrics))
        .route("/api/dev/login", post(dev::login))
        .route("/api/spaces/{space}", get(participant::space))
        .route(
            "/api/spaces/{space}/objects",
            get(participant::space_objects).post(participant::create_dynamic),
        )
        .route(
            "/api/spaces/{space}/objects/{object}",
            get(participant::space_object),
        )
        .route(
            "/api/admin/spaces",
            get(admin::spaces).post(admin::create_space),
        )
        .route(
            "/api/admin/spaces/{space}",
            patch(admin::update_space).delete(admin::delete_space),
        )
        .route(
            "/api/admin/spaces/{space}/objects",
            get(admin::objects).post(admin::create_object),
        )
        .route(
            "/api/admin/spaces/{space}/objects/{object}",
            patch(admin::update_object).delete(admin::delete_object),
        )
        .route("/api/admin/spaces/{space}/presence", get(admin::presence))
        .route("/api/admin/tokens", post(admin::token))
        .route(
            "/api/admin/revocations",
            get(admin::revocations).post(admin::revoke),
        )
        .route("/api/auth/config", get(auth::config))
        .route("/api/auth/session", get(auth::session))
        .route("/api/auth/oidc/token", post(auth::oidc_token))
}

async fn info(State(state): State<AppState>) -> Json<meetbridge_protocol::bridge::ServerInfo> {
    Json(meetbridge_protocol::bridge::ServerInfo {
        dev_login: state.dev_login,
        demo_space: state.demo_space.clone(),
        ws: "/ws".into(),
        servers: state.ws_urls.to_vec(),
        subprotocol: crate::auth::SUBPROTOCOL.into(),
        allow_http_plugins: state.allow_http_plugins,
        limits: state.hub.limits_frame(),
    })
}

/// `/metrics` on the main address: open, behind `--metrics-key`, or absent when
/// `--metrics-listen` moved it.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match &state.metrics_access {
        MetricsAccess::Open => metrics_here(State(state)).await.into_response(),
        // The same constant-time bearer comparison as the admin key's.
        MetricsAccess::Key(key) if crate::auth::is_admin(&headers, key) => {
            metrics_here(State(state)).await.into_response()
        }
        MetricsAccess::Key(_) => (
            StatusCode::UNAUTHORIZED,
            "/metrics needs the metrics key: Authorization: Bearer <key>\n",
        )
            .into_response(),
        MetricsAccess::Elsewhere => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The Prometheus text, unconditionally (the metrics address's own route).
pub async fn metrics_here(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.hub.render_metrics();
    if let Some(cluster) = &state.hub.cluster {
        crate::metrics::append(&mut text, &cluster.render_metrics());
    }
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text)
}
