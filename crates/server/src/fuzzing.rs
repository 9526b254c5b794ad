//! The server's handling of one connection's frames, as a function of raw bytes, so that
//! the `session_frames` fuzz target (`fuzz/`) and the replay of its corpus
//! (`tests/fuzz_regressions.rs`) check exactly the same thing.
//!
//! The input is split into text frames at each `\n` (a seed file is one frame per line;
//! non-UTF-8 is read lossily, as only text frames reach a session). User `a` sends them
//! all, through the same [`Session::on_text`] the socket loop calls, on a real hub and
//! SQLite store; user `b` is joined on both objects and only listens. Panics when a
//! promise is broken:
//!
//! - nothing panics, whatever the frames;
//! - every frame queued to either connection is a server frame the host runtime reads;
//! - an `error` frame is small (at most [`MAX_ERROR_FRAME`] bytes), whatever it answers;
//! - every frame that carried a `req` (a JSON object whose `req` is a whole number) gets
//!   an answer with that `req` (`ack`, `error` or `pong`), within [`ANSWER_WAIT`], also
//!   when the answer waits for a commit;
//! - what `b` receives from `a` says `a` sent it, on the object it came on (no spoofing).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use meetbridge_protocol::bridge::ServerFrame;
use meetbridge_protocol::ovice::{ObjectType, PlatformToPlugin};
use meetbridge_protocol::Parsed;
use serde_json::Value;

use crate::auth::token::Claims;
use crate::config::LimitsConfig;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::session::Session;
use crate::store::{ObjectDef, ObjectSettings, SpaceDef, Store};

/// The largest `error` frame any request may cause.
pub const MAX_ERROR_FRAME: usize = 4096;
/// How long the answers that wait for a commit may take.
pub const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// The objects of the fixture: a static one and a dynamic one created by `a`.
pub const OBJECTS: [&str; 2] = ["f1", "f2"];

struct Fixture {
    runtime: tokio::runtime::Runtime,
    hub: Arc<Hub>,
    a: Claims,
    b: Claims,
}

fn claims(id: &str) -> Claims {
    let request = serde_json::from_value(serde_json::json!({"id": id, "name": id, "space": "fz"}))
        .expect("a valid token request");
    meetbridge_identity::Minter::new(b"fuzz", None, None)
        .mint_at(&request, crate::auth::token::now_secs())
        .expect("a valid token request")
        .claims
}

/// One hub for the whole run, on a fresh SQLite store in the temporary directory.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("meetbridge-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let store: Arc<dyn Store> = Arc::new(
            crate::store::sqlite::SqliteStore::open(&dir, crate::store::SqliteSync::Normal)
                .expect("a SQLite store"),
        );
        let _ = store.create_space(&SpaceDef {
            id: "fz".into(),
            name: "fuzz".into(),
            created_at: 0,
            settings: Default::default(),
        });
        for (id, object_type) in OBJECTS
            .iter()
            .zip([ObjectType::Static, ObjectType::Dynamic])
        {
            let _ = store.create_object(&ObjectDef {
                id: (*id).into(),
                space_id: "fz".into(),
                name: (*id).into(),
                object_type,
                plugin_url: "/plugins/notes/".into(),
                settings: ObjectSettings::default(),
                creator: Some("a".into()),
                created_at: 0,
                position: None,
            });
        }
        let limits = LimitsConfig {
            history_size: 100,
            ..LimitsConfig::default()
        };
        let hub = Hub::new(store, limits, Arc::new(Metrics::new()), None).expect("a hub");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        Fixture {
            runtime,
            hub: Arc::new(hub),
            a: claims("a"),
            b: claims("b"),
        }
    })
}

/// A connection's queue, large enough that nothing is dropped as slow.
fn outbox(hub: &Hub) -> Outbox {
    Outbox::new(hub.next_conn_id(), 1 << 20, usize::MAX, hub.metrics.clone())
}

/// Every frame queued so far, read as the host runtime reads it.
fn taken(out: &Outbox, into: &mut Vec<(String, Value)>) {
    for frame in out.take().frames {
        let text = frame.as_str();
        assert!(
            matches!(ServerFrame::parse(text), Parsed::Message(_)),
            "the server sent a frame it does not read back: {text}"
        );
        let value: Value = serde_json::from_str(text).expect("a server frame is JSON");
        if value["op"] == "error" {
            assert!(
                text.len() <= MAX_ERROR_FRAME,
                "an error frame of {} bytes: {}…",
                text.len(),
                text.chars().take(300).collect::<String>()
            );
        }
        into.push((text.to_owned(), value));
    }
}

/// The check: see the module's doc.
pub fn session_frames(data: &[u8]) {
    let f = fixture();
    let _runtime = f.runtime.enter();
    let hub = &f.hub;
    let (out_a, out_b) = (outbox(hub), outbox(hub));
    let mut a = Session::start(hub.clone(), out_a.clone(), f.a.clone());
    let mut b = Session::start(hub.clone(), out_b.clone(), f.b.clone());
    for object in OBJECTS {
        b.on_text(&format!(
            r#"{{"op":"presence","object":"{object}","status":"joined"}}"#
        ));
    }
    let mut to_b = Vec::new();
    taken(&out_b, &mut to_b);
    to_b.clear();

    let text = String::from_utf8_lossy(data);
    // How many answers each `req` is owed.
    let mut owed: HashMap<u64, usize> = HashMap::new();
    for frame in text.split('\n') {
        if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(frame) {
            if let Some(req) = o.get("req").and_then(Value::as_u64) {
                *owed.entry(req).or_default() += 1;
            }
        }
        a.on_text(frame);
    }

    let mut to_a = Vec::new();
    let until = Instant::now() + ANSWER_WAIT;
    loop {
        taken(&out_a, &mut to_a);
        let mut answered: HashMap<u64, usize> = HashMap::new();
        for (_, v) in &to_a {
            if matches!(v["op"].as_str(), Some("ack" | "error" | "pong")) {
                if let Some(req) = v["req"].as_u64() {
                    *answered.entry(req).or_default() += 1;
                }
            }
        }
        let missing: Vec<u64> = owed
            .iter()
            .filter(|(req, n)| answered.get(req).copied().unwrap_or(0) < **n)
            .map(|(req, _)| *req)
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < until,
            "no answer to req {missing:?}; answers: {:?}",
            to_a.iter().map(|(t, _)| t).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    taken(&out_b, &mut to_b);
    for (text, _) in &to_b {
        let Parsed::Message(ServerFrame::Plugin(p)) = ServerFrame::parse(text) else {
            continue;
        };
        if let PlatformToPlugin::Message(m) = &p.message {
            assert_eq!(m.source, "a", "b got a message not from a: {text}");
            assert_eq!(
                m.object_id, p.object,
                "b got a message of another object: {text}"
            );
        }
    }
    a.end();
    b.end();
}
