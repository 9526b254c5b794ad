//! A server on a temporary data dir, and a WebSocket client that speaks the bridge frames.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use meetbridge_protocol::ovice::ObjectType;
use meetbridge_server::auth::token::{Role, TokenRequest};
use meetbridge_server::config::ServeConfig;
use meetbridge_server::store::{ObjectDef, ObjectSettings, SpaceDef, Store};
use meetbridge_server::Server;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(5);
/// How long "nothing arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(150);

pub struct TestServer {
    pub server: Option<Server>,
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
}

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut ServeConfig)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    start_in(dir, tweak).await
}

pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut ServeConfig)) -> TestServer {
    let mut config = ServeConfig::for_tests(dir.path().to_path_buf());
    config.web_dir = dir.path().join("no-web");
    tweak(&mut config);
    let server = meetbridge_server::start(config).await.unwrap();
    let addr = server.addr;
    TestServer {
        server: Some(server),
        dir,
        addr,
    }
}

impl TestServer {
    pub fn hub(&self) -> &meetbridge_server::hub::Hub {
        &self.server.as_ref().unwrap().state.hub
    }

    pub fn store(&self) -> &std::sync::Arc<dyn Store> {
        &self.hub().store
    }

    /// A static object without e-mail, the kind most tests use.
    pub fn static_object(&self, id: &str) {
        self.object(id, ObjectType::Static, false, None);
    }

    /// Creates a space (once) and an object in it, directly in the store and registry.
    pub fn object(
        &self,
        id: &str,
        object_type: ObjectType,
        share_email: bool,
        creator: Option<&str>,
    ) {
        let _ = self.store().create_space(&SpaceDef {
            id: "s".into(),
            name: "S".into(),
            created_at: 0,
            settings: Default::default(),
        });
        let def = ObjectDef {
            id: id.into(),
            space_id: "s".into(),
            name: id.into(),
            object_type,
            plugin_url: "/plugins/notes/".into(),
            settings: ObjectSettings {
                share_email,
                ..ObjectSettings::default()
            },
            creator: creator.map(str::to_owned),
            created_at: 0,
            position: None,
        };
        self.store().create_object(&def).unwrap();
        self.hub().insert(def);
    }

    /// A member's token for space "s".
    pub fn token(&self, id: &str) -> String {
        self.token_as(id, Role::Member, Some("s"))
    }

    /// A token of `role` for `id`, scoped to `space` (`None`: no scope).
    pub fn token_as(&self, id: &str, role: Role, space: Option<&str>) -> String {
        let request = TokenRequest {
            id: id.into(),
            name: format!("User {id}"),
            avatar_url: format!("https://a.example/{id}.png"),
            workspace_id: "w1".into(),
            language: Some("en".into()),
            email: Some(format!("{id}@example.com")),
            is_visitor: role == Role::Visitor,
            space: space.map(str::to_owned),
            role,
            ttl_secs: 3600,
        };
        self.server
            .as_ref()
            .unwrap()
            .state
            .tokens
            .mint(&request)
            .unwrap()
            .token
    }

    pub async fn client(&self, id: &str) -> Client {
        Client::connect(self.addr, &self.token(id)).await
    }

    /// A new client for `id` that has set its presence on `object` to `status`.
    pub async fn present(&self, id: &str, object: &str, status: &str) -> Client {
        let mut client = self.client(id).await;
        client.presence(object, status).await;
        client
    }

    /// A new client for `id` that has joined `object`.
    pub async fn joined(&self, id: &str, object: &str) -> Client {
        self.present(id, object, "joined").await
    }

    /// One HTTP request to this server (reqwest): the status and the body's text.
    pub async fn http_text(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut call =
            reqwest::Client::new().request(method, format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            call = call.header(*name, *value);
        }
        if let Some(body) = body {
            call = call.json(&body);
        }
        let response = call.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// [`Self::http_text`], the body as JSON (a JSON string when it is not JSON).
    pub async fn http_json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = self.http_text(method, path, headers, body).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

/// A PostgreSQL schema of its own for one test, dropped afterwards (127.0.0.1:5432, database
/// `test`; `MEETBRIDGE_TEST_PG` overrides the URL).
pub struct PgSchema {
    pub url: String,
    pub name: String,
}

impl PgSchema {
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        PgSchema {
            url: std::env::var("MEETBRIDGE_TEST_PG")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
            name: format!("mbserver_{}_{nanos}", std::process::id()),
        }
    }

    /// Points a server configuration at this schema.
    pub fn apply(&self) -> impl Fn(&mut ServeConfig) + Clone {
        let (url, name) = (self.url.clone(), self.name.clone());
        move |c: &mut ServeConfig| {
            c.data.store = url.clone();
            c.data.pg_schema = name.clone();
        }
    }

    pub async fn drop_schema(&self) {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL answers");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
            .await
            .unwrap();
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_req: u64,
    pub welcome: Value,
}

impl Client {
    pub async fn connect(addr: SocketAddr, token: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token={token}"))
            .await
            .unwrap();
        Client::from_ws(ws).await
    }

    /// Connects with the token as a subprotocol, as a browser does.
    pub async fn connect_subprotocol(addr: SocketAddr, token: &str) -> Client {
        let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            format!("meetbridge, {token}").parse().unwrap(),
        );
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            "meetbridge"
        );
        Client::from_ws(ws).await
    }

    async fn from_ws(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Client {
        let mut client = Client {
            ws,
            next_req: 1,
            welcome: Value::Null,
        };
        let welcome = client.recv().await;
        assert_eq!(welcome["op"], "welcome", "{welcome}");
        client.welcome = welcome;
        client
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// The next text frame, as the server wrote it.
    pub async fn recv_text(&mut self) -> String {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("socket ended")
                .expect("socket error");
            match msg {
                Message::Text(t) => return t.to_string(),
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => continue,
            }
        }
    }

    /// The next text frame, as JSON.
    pub async fn recv(&mut self) -> Value {
        serde_json::from_str(&self.recv_text().await).unwrap()
    }

    /// The next frame, or `None` if nothing comes for a short while.
    pub async fn try_recv(&mut self) -> Option<Value> {
        match tokio::time::timeout(QUIET, self.ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) => None,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => None,
        }
    }

    /// Reads and drops whatever has arrived until the socket goes quiet.
    pub async fn drain(&mut self) {
        while self.try_recv().await.is_some() {}
    }

    pub async fn assert_quiet(&mut self) {
        if let Some(v) = self.try_recv().await {
            panic!("expected nothing, got {v}");
        }
    }

    /// Sends `frame` with a fresh `req` and returns every frame up to and including the
    /// `ack`, `error` or `pong` that answers it.
    pub async fn request(&mut self, mut frame: Value) -> Vec<Value> {
        let req = self.next_req;
        self.next_req += 1;
        frame["req"] = json!(req);
        self.send(frame).await;
        let mut frames = Vec::new();
        loop {
            let f = self.recv().await;
            let done = (f["op"] == "ack" || f["op"] == "error" || f["op"] == "pong")
                && f["req"] == json!(req);
            frames.push(f);
            if done {
                return frames;
            }
        }
    }

    pub async fn presence(&mut self, object: &str, status: &str) -> Vec<Value> {
        let frames = self
            .request(json!({"op": "presence", "object": object, "status": status}))
            .await;
        assert_eq!(frames.last().unwrap()["op"], "ack", "{frames:?}");
        frames
    }

    pub async fn plugin(&mut self, object: &str, message: Value) -> Vec<Value> {
        self.request(json!({"op": "plugin", "object": object, "message": message}))
            .await
    }

    /// Presence with `since`: a returning connection asks for what it missed.
    pub async fn resume(&mut self, object: &str, status: &str, since: u64) -> Vec<Value> {
        self.request(json!({"op": "presence", "object": object, "status": status, "since": since}))
            .await
    }

    pub async fn get_data(&mut self, object: &str) -> Vec<Value> {
        self.plugin(object, json!({"type": "ovice_get_data"})).await
    }

    pub async fn get_participants(&mut self, object: &str) -> Vec<Value> {
        self.plugin(object, json!({"type": "ovice_get_participants"}))
            .await
    }

    /// The next frame that is a plugin message, skipping nothing else silently.
    pub async fn recv_plugin(&mut self) -> Value {
        let f = self.recv().await;
        assert_eq!(f["op"], "plugin", "{f}");
        f
    }

    /// The message types of the next `n` plugin frames.
    pub async fn recv_types(&mut self, n: usize) -> Vec<String> {
        let mut types = Vec::new();
        for _ in 0..n {
            let f = self.recv_plugin().await;
            types.push(f["message"]["type"].as_str().unwrap().to_owned());
        }
        types
    }
}

/// Drains each of `clients`.
pub async fn drain(clients: &mut [&mut Client]) {
    for c in clients.iter_mut() {
        c.drain().await;
    }
}

/// A broadcast of `message` under `event`.
pub fn broadcast_event(event: &str, message: Value) -> Value {
    json!({"type": "ovice_broadcast_message", "payload": {"event": event, "message": message}})
}

/// A broadcast numbered `n`, easy to tell apart on the receiving side.
pub fn broadcast(n: i64) -> Value {
    broadcast_event("n", json!(n))
}

/// The oVice messages among `frames`.
pub fn messages(frames: &[Value]) -> Vec<&Value> {
    frames
        .iter()
        .filter(|f| f["op"] == "plugin")
        .map(|f| &f["message"])
        .collect()
}

pub fn types(frames: &[Value]) -> Vec<String> {
    messages(frames)
        .iter()
        .map(|m| m["type"].as_str().unwrap().to_owned())
        .collect()
}
