//! The HTTP side: admin API, participant API, dev login, health, metrics, static files.

use serde_json::{json, Value};

use crate::common::*;

const ADMIN: (&str, &str) = ("Authorization", "Bearer test-admin-key");

async fn call(
    s: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    s.http_json(method, path, headers, body).await
}

async fn admin_post(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    call(s, "POST", path, &[ADMIN], Some(body)).await
}

/// A call with `Authorization: {auth}`.
async fn call_as(
    s: &TestServer,
    auth: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call(s, method, path, &[("Authorization", auth)], body).await
}

async fn dev_login(s: &TestServer, name: &str) -> (u16, Value) {
    call(
        s,
        "POST",
        "/api/dev/login",
        &[],
        Some(json!({ "name": name })),
    )
    .await
}

/// A plain GET, for the responses that are not JSON.
async fn get(s: &TestServer, path: &str) -> (u16, String) {
    request(s, "GET", path, &[], None).await
}

async fn request(
    s: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, String) {
    s.http_text(method, path, headers, body).await
}

#[tokio::test]
async fn admin_api_creates_spaces_objects_and_tokens_that_work() {
    let s = start().await;
    let (status, _) = call(&s, "GET", "/api/admin/spaces", &[], None).await;
    assert_eq!(status, 401);
    let (status, _) = call_as(&s, "Bearer wrong", "GET", "/api/admin/spaces", None).await;
    assert_eq!(status, 401);

    let (status, space) = admin_post(
        &s,
        "/api/admin/spaces",
        json!({"id": "team", "name": "Team"}),
    )
    .await;
    assert_eq!(status, 201, "{space}");
    let (status, _) = admin_post(
        &s,
        "/api/admin/spaces",
        json!({"id": "team", "name": "Again"}),
    )
    .await;
    assert_eq!(status, 409);
    let (status, obj) = call(
        &s,
        "POST",
        "/api/admin/spaces/team/objects",
        &[("X-Admin-Key", "test-admin-key")],
        Some(json!({"id": "board", "type": "dynamic", "pluginUrl": "/plugins/notes/", "settings": {"shareEmail": true}, "creator": "ann"})),
    )
    .await;
    assert_eq!(status, 201, "{obj}");
    assert_eq!(obj["objectType"], "dynamic");
    let (status, _) = admin_post(
        &s,
        "/api/admin/spaces/nope/objects",
        json!({"pluginUrl": "/x/"}),
    )
    .await;
    assert_eq!(status, 404);
    let (_, list) = call(&s, "GET", "/api/admin/spaces/team/objects", &[ADMIN], None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, spaces) = call(&s, "GET", "/api/admin/spaces", &[ADMIN], None).await;
    assert_eq!(spaces[0]["id"], "team");

    let (status, issued) = admin_post(
        &s,
        "/api/admin/tokens",
        json!({"id": "ann", "name": "Ann", "email": "ann@example.com", "space": "team"}),
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let token = issued["token"].as_str().unwrap().to_owned();

    // The token opens the object made over HTTP, and Ann is its host.
    let mut ann = Client::connect(s.addr, &token).await;
    let got = ann.presence("board", "joined").await;
    let me = &messages(&got)[0]["payload"];
    assert_eq!(me["isHost"], true);
    assert_eq!(me["email"], "ann@example.com");

    // The participant API lists the space's objects and lets Ann place a dynamic one.
    let auth = format!("Bearer {token}");
    let (status, objects) = call_as(&s, &auth, "GET", "/api/spaces/team/objects", None).await;
    assert_eq!(status, 200);
    assert_eq!(objects[0]["pluginUrl"], "/plugins/notes/");
    let (status, placed) = call_as(
        &s,
        &auth,
        "POST",
        "/api/spaces/team/objects",
        Some(json!({"pluginUrl": "/plugins/poll/", "settings": {"shareEmail": true}})),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["creator"], "ann");
    assert_eq!(placed["settings"]["shareEmail"], false);
    let (status, _) = call_as(&s, &auth, "GET", "/api/spaces/other/objects", None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn dev_login_exists_only_in_demo_mode() {
    let s = start().await;
    let (status, _) = dev_login(&s, "Alice").await;
    assert_eq!(status, 404);

    let s = start_with(|c| c.demo = true).await;
    let (_, info) = call(&s, "GET", "/api/info", &[], None).await;
    assert_eq!(info["devLogin"], true);
    assert_eq!(info["demoSpace"], "demo");
    let (status, login) = dev_login(&s, "Alice").await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["devOnly"], true);
    assert_eq!(login["participant"]["id"], "dev-alice");
    let mut alice = Client::connect(s.addr, login["token"].as_str().unwrap()).await;
    // The demo seed's dynamic chat is Alice's.
    let got = alice.presence("demo-chat", "joined").await;
    assert_eq!(messages(&got)[0]["payload"]["isHost"], true);
    let got = alice.presence("demo-notes", "joined").await;
    assert_eq!(messages(&got)[0]["payload"]["email"], "alice@dev.invalid");
    let auth = format!("Bearer {}", login["token"].as_str().unwrap());
    let (_, objects) = call_as(&s, &auth, "GET", "/api/spaces/demo/objects", None).await;
    let urls: Vec<&str> = objects
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["pluginUrl"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        ["/plugins/notes/", "/plugins/poll/", "/plugins/chat/"]
    );
}

#[tokio::test]
async fn health_metrics_and_static_files() {
    let s = start_with(|c| c.demo = false).await;
    let (status, body) = get(&s, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let mut a = s.client("a").await;
    a.request(json!({"op": "ping"})).await;
    a.send_text("nope".into()).await;
    a.recv().await;
    let (status, metrics) = get(&s, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("meetbridge_connections_open 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("meetbridge_errors_total{code=\"bad_frame\"} 1"),
        "{metrics}"
    );

    // web/dist not built: a 404 that says how to build it.
    let (status, body) = get(&s, "/").await;
    assert_eq!(status, 404);
    assert!(body.contains("npm run build"), "{body}");

    // Built: served.
    let web = s.dir.path().join("web");
    std::fs::create_dir_all(web.join("plugins/notes")).unwrap();
    std::fs::write(web.join("plugins/notes/index.html"), "<p>notes</p>").unwrap();
    drop(a);
    let s2 = start_with(|c| c.web_dir = web.clone()).await;
    let (status, body) = get(&s2, "/plugins/notes/").await;
    assert_eq!((status, body.as_str()), (200, "<p>notes</p>"));
    let (status, _) = get(&s2, "/plugins/none/").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_objects_own_retention_from_the_admin_api_is_what_the_pruner_keeps() {
    // Space "s": the one the test clients' tokens open.
    let s = start().await;
    assert_eq!(
        admin_post(&s, "/api/admin/spaces", json!({"id": "s", "name": "S"}))
            .await
            .0,
        201
    );
    let (status, object) = admin_post(
        &s,
        "/api/admin/spaces/s/objects",
        json!({"id": "game", "type": "static", "pluginUrl": "/plugins/poll/",
               "settings": {"retention": {"maxMessages": 2}}}),
    )
    .await;
    assert_eq!(status, 201, "{object}");
    assert_eq!(object["settings"]["retention"], json!({"maxMessages": 2}));
    let (status, _) = admin_post(
        &s,
        "/api/admin/spaces/s/objects",
        json!({"id": "chat", "type": "static", "pluginUrl": "/plugins/chat/"}),
    )
    .await;
    assert_eq!(status, 201);
    let mut a = s.joined("a", "game").await;
    a.presence("chat", "joined").await;
    let _b = s.joined("b", "game").await;
    for n in 0..5 {
        a.plugin("game", broadcast(n)).await;
        a.plugin("chat", broadcast(n)).await;
    }
    let hub = s.server.as_ref().unwrap().state.hub.clone();
    tokio::task::spawn_blocking(move || hub.prune())
        .await
        .unwrap()
        .unwrap();
    let kept = |o: &str| {
        s.store()
            .read_log(o, &meetbridge_server::store::LogQuery::after(0, 100))
            .unwrap()
            .entries
            .len()
    };
    // The game keeps its 2; the chat, without its own, the server's default (10,000).
    assert_eq!((kept("game"), kept("chat")), (2, 5));
    // A bad retention is refused, naming the field.
    let (status, body) = admin_post(
        &s,
        "/api/admin/spaces/s/objects",
        json!({"id": "bad", "type": "static", "pluginUrl": "/plugins/poll/",
               "settings": {"retention": {"maxMessages": "lots"}}}),
    )
    .await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.to_string().contains("retention.maxMessages"), "{body}");
}
