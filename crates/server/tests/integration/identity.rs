//! Identity over real sockets: JWTs from an identity provider's JWKS (served on loopback),
//! scopes and roles, revocation and expiry closing open sockets (4401), the refusals each
//! with its reason, plugin URLs checked where they enter, and the demo login's one space.

use std::time::Duration;

use futures_util::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use meetbridge_server::auth::token::now_secs;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

const ADMIN: &str = "Bearer test-admin-key";
const EC_DER: &[u8] = include_bytes!("../../../identity/tests/keys/ec.der");
const EC_JWK: &str = include_str!("../../../identity/tests/keys/ec.jwk.json");

/// Serves `{"keys": [the test EC key]}` on loopback; returns its URL.
async fn jwks_server() -> String {
    let jwk: Value = serde_json::from_str(EC_JWK).unwrap();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let jwk = jwk.clone();
            async move { axum::Json(json!({"keys": [jwk]})) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn idp_token(kid: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(EC_DER)).unwrap()
}

fn hs_token(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// `token`'s header and signature around `other`'s payload: a forgery.
fn forged(token: &str, other: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = other.split('.').nth(1).unwrap();
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// Connects with `token` and returns the first frame (welcome or error) and the close, if any.
async fn first_frame(addr: std::net::SocketAddr, token: &str) -> (Value, Option<(u16, String)>) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token={token}"))
        .await
        .unwrap();
    let Some(Ok(Message::Text(first))) = ws.next().await else {
        panic!("no first frame")
    };
    let first: Value = serde_json::from_str(&first).unwrap();
    let close = match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
        Ok(Some(Ok(Message::Close(Some(c))))) => Some((u16::from(c.code), c.reason.to_string())),
        _ => None,
    };
    (first, close)
}

/// Waits for the close frame of `client` (skipping other frames).
async fn close_of(client: &mut Client) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, client.ws.next())
            .await
            .expect("no close");
        match next {
            Some(Ok(Message::Close(Some(c)))) => return (u16::from(c.code), c.reason.to_string()),
            Some(Ok(_)) => continue,
            other => panic!("socket ended without a close frame: {other:?}"),
        }
    }
}

async fn http(
    s: &TestServer,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    s.http_json(method, path, &headers, body).await
}

#[tokio::test]
async fn identity_provider_jwts_map_onto_the_participant_and_each_refusal_says_why() {
    let jwks = jwks_server().await;
    let s = start_with(|c| {
        c.identity.jwks_url = Some(jwks);
        c.identity.jwt_issuer = Some("https://idp.example".into());
        c.identity.jwt_audience = Some("meetbridge".into());
    })
    .await;
    s.static_object("o1");
    let now = now_secs();
    let good = json!({"iss": "https://idp.example", "aud": "meetbridge", "sub": "u-42", "name": "Ann",
        "picture": "https://idp.example/ann.png", "email": "ann@example.com", "locale": "ja",
        "workspaceId": 987, "space": "s", "exp": now + 600});

    let mut ann = Client::connect(s.addr, &idp_token("ec", good.clone())).await;
    let me = &ann.welcome["participant"];
    assert_eq!(me["id"], "u-42");
    assert_eq!(me["name"], "Ann");
    assert_eq!(me["avatarUrl"], "https://idp.example/ann.png");
    assert_eq!(me["language"], "ja");
    assert_eq!(me["workspaceId"], 987);
    assert_eq!(me["isVisitor"], false);
    let got = ann.presence("o1", "joined").await;
    assert!(
        messages(&got).iter().any(|m| m["payload"]["id"] == "u-42"),
        "{got:?}"
    );

    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    for (token, words) in [
        (
            idp_token("ec", with("iss", json!("https://evil.example"))),
            "`iss`",
        ),
        (idp_token("ec", with("aud", json!("other"))), "`aud`"),
        (idp_token("ec", with("exp", json!(now - 3600))), "expired"),
        (
            forged(
                &idp_token("ec", good.clone()),
                &idp_token("ec", with("sub", json!("admin"))),
            ),
            "signature",
        ),
        (idp_token("rotated-away", good.clone()), "kid"),
        (hs_token("wrong secret", good.clone()), "signature"),
    ] {
        let (first, close) = first_frame(s.addr, &token).await;
        assert_eq!(first["code"], "unauthorized", "{first}");
        let message = first["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{words}: {first}");
        assert!(!message.contains(&token), "the token is never echoed");
        assert_eq!(close.map(|c| c.0), Some(4401));
    }
    // The same reasons over HTTP.
    let expired = idp_token("ec", with("exp", json!(now - 3600)));
    let (status, body) = http(
        &s,
        "GET",
        "/api/spaces/s/objects",
        Some(&format!("Bearer {expired}")),
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn an_unreachable_key_set_is_a_503_with_its_reason() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks.json", l.local_addr().unwrap())
    };
    let s = start_with(|c| c.identity.jwks_url = Some(closed)).await;
    let token = idp_token(
        "ec",
        json!({"sub": "u", "space": "s", "exp": now_secs() + 60}),
    );
    let (status, body) = http(
        &s,
        "GET",
        "/api/spaces/s/objects",
        Some(&format!("Bearer {token}")),
        None,
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(body["message"].as_str().unwrap().contains("JWKS"), "{body}");
}

#[tokio::test]
async fn only_an_admin_token_opens_every_space() {
    let s = start().await;
    s.static_object("o1");
    let now = now_secs();
    let member = hs_token("test-secret", json!({"sub": "m", "exp": now + 60}));
    let mut m = Client::connect(s.addr, &member).await;
    assert_eq!(m.presence_raw("o1").await["code"], "unknown_object");
    let (status, body) = http(
        &s,
        "GET",
        "/api/spaces/s/objects",
        Some(&format!("Bearer {member}")),
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body["message"].as_str().unwrap().contains("names no space"),
        "{body}"
    );

    let admin = hs_token(
        "test-secret",
        json!({"sub": "root", "role": "admin", "exp": now + 60}),
    );
    let mut a = Client::connect(s.addr, &admin).await;
    let got = a.presence("o1", "joined").await;
    assert!(!messages(&got).is_empty());
    // An admin token administers too; a member's does not, and says why.
    let (status, _) = http(
        &s,
        "GET",
        "/api/admin/spaces",
        Some(&format!("Bearer {admin}")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let scoped = hs_token(
        "test-secret",
        json!({"sub": "m", "name": "Max", "space": "s", "exp": now + 60}),
    );
    let (status, body) = http(
        &s,
        "GET",
        "/api/admin/spaces",
        Some(&format!("Bearer {scoped}")),
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body["message"].as_str().unwrap().contains("role member"),
        "{body}"
    );
    // An owner sees their space only.
    let owner = hs_token(
        "test-secret",
        json!({"sub": "o", "role": "owner", "space": "s", "exp": now + 60}),
    );
    let (status, spaces) = http(
        &s,
        "GET",
        "/api/admin/spaces",
        Some(&format!("Bearer {owner}")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(spaces.as_array().unwrap().len(), 1);
    let (status, _) = http(
        &s,
        "POST",
        "/api/admin/spaces",
        Some(&format!("Bearer {owner}")),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, 403);
    // A visitor may not place objects.
    let visitor = hs_token(
        "test-secret",
        json!({"sub": "v", "role": "visitor", "space": "s", "exp": now + 60}),
    );
    let (status, body) = http(
        &s,
        "POST",
        "/api/spaces/s/objects",
        Some(&format!("Bearer {visitor}")),
        Some(json!({"pluginUrl": "/plugins/chat/"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn revoking_a_user_or_a_token_closes_open_sockets_with_4401() {
    let s = start().await;
    s.static_object("o1");
    let old = s.token("victim");
    let mut victim = Client::connect(s.addr, &old).await;
    victim.presence("o1", "joined").await;
    let mut bystander = s.joined("bystander", "o1").await;
    let (status, body) = http(
        &s,
        "POST",
        "/api/admin/revocations",
        Some(ADMIN),
        Some(json!({"sub": "victim", "reason": "left the company"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(close_of(&mut victim).await, (4401, "token revoked".into()));
    assert_eq!(body["closed"], 1, "{body}");
    // The bystander stays, and sees the victim leave.
    let left = bystander.recv_plugin().await;
    assert_eq!(left["message"]["type"], "ovice_participant_left", "{left}");
    // The old token is refused at connect; a token issued after the revocation works.
    let (first, _) = first_frame(s.addr, &old).await;
    assert!(
        first["message"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked"),
        "{first}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (first, _) = first_frame(s.addr, &s.token("victim")).await;
    assert_eq!(first["op"], "welcome", "{first}");
    let (_, list) = http(&s, "GET", "/api/admin/revocations", Some(ADMIN), None).await;
    assert_eq!(list[0]["kind"], "sub");
    assert_eq!(list[0]["reason"], "left the company");

    // By token id.
    let (_, issued) = http(
        &s,
        "POST",
        "/api/admin/tokens",
        Some(ADMIN),
        Some(json!({"id": "j", "name": "J", "space": "s"})),
    )
    .await;
    let token = issued["token"].as_str().unwrap().to_owned();
    let jti = issued["claims"]["jti"].as_str().unwrap().to_owned();
    let mut j = Client::connect(s.addr, &token).await;
    let (status, _) = http(
        &s,
        "POST",
        "/api/admin/revocations",
        Some(ADMIN),
        Some(json!({"jti": jti})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(close_of(&mut j).await.0, 4401);
    let (first, close) = first_frame(s.addr, &token).await;
    assert!(
        first["message"].as_str().unwrap().contains("revoked"),
        "{first}"
    );
    assert_eq!(close.map(|c| c.0), Some(4401));
    let (status, body) = http(
        &s,
        "POST",
        "/api/admin/revocations",
        Some(ADMIN),
        Some(json!({"jti": "a", "sub": "b"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("exactly one"),
        "{body}"
    );
}

#[tokio::test]
async fn revocations_survive_a_restart() {
    let mut s = start().await;
    let token = s.token("gone");
    let (status, _) = http(
        &s,
        "POST",
        "/api/admin/revocations",
        Some(ADMIN),
        Some(json!({"sub": "gone"})),
    )
    .await;
    assert_eq!(status, 201);
    s.stop().await;
    let s = start_in(s.dir, |_| {}).await;
    let (first, _) = first_frame(s.addr, &token).await;
    assert!(
        first["message"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked"),
        "{first}"
    );
}

#[tokio::test]
async fn an_expiring_token_closes_its_socket_with_4401() {
    let s = start().await;
    // Valid for about one more second (the leeway is 30 s).
    let token = hs_token(
        "test-secret",
        json!({"sub": "e", "space": "s", "exp": now_secs() - 29}),
    );
    let mut e = Client::connect(s.addr, &token).await;
    let (code, reason) = close_of(&mut e).await;
    assert_eq!(code, 4401);
    assert!(reason.contains("expired"), "{reason}");
}

#[tokio::test]
async fn token_requests_and_plugin_urls_are_checked_field_by_field() {
    let s = start().await;
    s.static_object("o1");
    for (body, field) in [
        (
            json!({"id": "a", "name": "A", "space": "s", "ttlSecs": 9_223_372_036_854_775_807i64}),
            "ttlSecs",
        ),
        (
            json!({"id": "a", "name": "A", "space": "s", "ttlSecs": 0}),
            "ttlSecs",
        ),
        (json!({"id": "a", "name": "A"}), "space"),
        (json!({"id": "", "name": "A", "space": "s"}), "id"),
    ] {
        let (status, out) = http(&s, "POST", "/api/admin/tokens", Some(ADMIN), Some(body)).await;
        assert_eq!(status, 400, "{out}");
        assert!(
            out["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{field}: {out}"
        );
    }
    for url in [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>1</script>",
        "//evil.example/",
        "http://evil.example/",
    ] {
        let (status, out) = http(
            &s,
            "POST",
            "/api/admin/spaces/s/objects",
            Some(ADMIN),
            Some(json!({"pluginUrl": url})),
        )
        .await;
        assert_eq!(status, 400, "{url}: {out}");
        assert!(
            out["message"].as_str().unwrap().starts_with("`pluginUrl` "),
            "{out}"
        );
    }
    let member = format!("Bearer {}", s.token("m"));
    let (status, out) = http(
        &s,
        "POST",
        "/api/spaces/s/objects",
        Some(&member),
        Some(json!({"pluginUrl": "javascript:1"})),
    )
    .await;
    assert_eq!(status, 400, "{out}");
    let (status, _) = http(
        &s,
        "POST",
        "/api/spaces/s/objects",
        Some(&member),
        Some(json!({"pluginUrl": "https://plugins.example/p/"})),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn the_dev_login_opens_the_demo_space_whatever_is_asked() {
    let s = start_with(|c| c.demo = true).await;
    let (status, login) = http(
        &s,
        "POST",
        "/api/dev/login",
        None,
        Some(json!({"name": "Eve", "space": "s"})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["space"], "demo");
    let auth = format!("Bearer {}", login["token"].as_str().unwrap());
    let (status, _) = http(&s, "GET", "/api/spaces/s/objects", Some(&auth), None).await;
    assert_eq!(status, 403);
    let (_, config) = http(&s, "GET", "/api/auth/config", None, None).await;
    assert_eq!(config["devLogin"], true);
    assert_eq!(config["oidc"], Value::Null);
    let (status, session) = http(&s, "GET", "/api/auth/session", Some(&auth), None).await;
    assert_eq!(status, 200);
    assert_eq!(session["participant"]["name"], "Eve");
    assert_eq!(session["role"], "member");
}

#[tokio::test]
async fn pages_learn_the_server_urls_embed_origins_and_plugin_policy_and_may_connect_there() {
    let mut s = start_with(|c| {
        c.ws_urls = vec![
            "wss://node1.example.com/ws".into(),
            "ws://127.0.0.1:8082/ws".into(),
        ];
        c.identity.embed_origins = vec!["HTTPS://Chat.Example.com/".into()];
        c.identity.allow_http_plugins = true;
    })
    .await;
    let (_, info) = http(&s, "GET", "/api/info", None, None).await;
    assert_eq!(
        info["servers"],
        json!(["wss://node1.example.com/ws", "ws://127.0.0.1:8082/ws"])
    );
    assert_eq!(info["allowHttpPlugins"], true);
    let (_, config) = http(&s, "GET", "/api/auth/config", None, None).await;
    assert_eq!(
        config["embedOrigins"],
        json!(["https://chat.example.com"]),
        "written as a browser writes event.origin"
    );
    // Any page of the server (here the 404 page) may open a socket to every node.
    let page = reqwest::get(format!("http://{}/", s.addr)).await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("connect-src 'self' wss://node1.example.com ws://127.0.0.1:8082;"),
        "{csp}"
    );
    s.stop().await;
    // Without --ws-url: an empty list, the pages use this server's `ws`.
    let mut plain = start().await;
    let (_, info) = http(&plain, "GET", "/api/info", None, None).await;
    assert_eq!((&info["servers"], &info["ws"]), (&json!([]), &json!("/ws")));
    assert_eq!(info["allowHttpPlugins"], false);
    plain.stop().await;
}

#[tokio::test]
async fn a_bad_embed_origin_or_ws_url_stops_the_server_at_start_naming_the_flag() {
    for (embed, ws, words) in [
        (
            "https://chat.example.com/app",
            None,
            "`--embed-origin` \"https://chat.example.com/app\" must be only scheme://host[:port]",
        ),
        ("*", None, "`--embed-origin` \"*\" has no scheme"),
        (
            "https://chat.example.com",
            Some("wss://a.example/ws; script-src *"),
            "`--ws-url` \"wss://a.example/ws; script-src *\" must name a host",
        ),
        (
            "https://chat.example.com",
            Some("https://a.example/ws"),
            "is not ws:// or wss://",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config =
            meetbridge_server::config::ServeConfig::for_tests(dir.path().to_path_buf());
        config.web_dir = dir.path().join("no-web");
        config.identity.embed_origins = vec![embed.into()];
        config.ws_urls = ws.into_iter().map(str::to_owned).collect();
        let err = match meetbridge_server::start(config).await {
            Ok(_) => panic!("{embed} / {ws:?} started"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(words), "{err}");
    }
}
