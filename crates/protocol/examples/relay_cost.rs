//! What the server does per relayed message, before and after keeping the plugin's text:
//! read the client's `plugin` frame and encode the `ovice_message` frame the members get.
//! "value" is the old path (the whole frame decoded into a `serde_json::Value`, the message
//! re-encoded from it, keys sorted); "text" is the current one (`ClientFrame::parse`, the
//! message kept as the plugin's text and spliced into the relayed frame).
//!
//! cargo run --release -p meetbridge-protocol --example relay_cost [-- <message bytes> <iterations>]
use std::time::Instant;

use meetbridge_protocol::bridge::{ClientFrame, ServerFrame, ServerPluginFrame};
use meetbridge_protocol::ovice::{PlatformToPlugin, PluginToPlatform, RelayedMessage};
use meetbridge_protocol::Parsed;
use serde_json::{json, Value};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let size = args.first().copied().unwrap_or(1024);
    let iterations = args.get(1).copied().unwrap_or(200_000);
    // A chat-like message: a few keys, a text of about `size` bytes.
    let message = json!({"text": "x".repeat(size.saturating_sub(60)), "id": "m-1", "at": 1703214224, "reply": null});
    let frame = json!({"op": "plugin", "req": 7, "object": "o1", "id": "p-1",
        "message": {"type": "ovice_broadcast_message", "payload": {"event": "chat", "message": message}}})
    .to_string();

    let value_path = || {
        let v: Value = serde_json::from_str(&frame).unwrap();
        let payload = &v["message"]["payload"];
        let out = json!({"op": "plugin", "object": "o1", "seq": 1, "message": {"type": "ovice_message",
            "payload": {"source": "u1", "event": payload["event"], "objectId": "o1", "message": payload["message"]}}});
        out.to_string().len()
    };
    let text_path = || {
        let Parsed::Message(ClientFrame::Plugin(f)) = ClientFrame::parse(&frame) else {
            panic!("not a plugin frame")
        };
        let PluginToPlatform::BroadcastMessage(m) = f.message else {
            panic!("not a broadcast")
        };
        ServerFrame::Plugin(ServerPluginFrame {
            object: f.object,
            seq: Some(1),
            message: PlatformToPlugin::Message(RelayedMessage {
                source: "u1".into(),
                event: m.event,
                object_id: "o1".into(),
                message: m.message,
                to: None,
            }),
        })
        .to_text()
        .len()
    };
    println!("frame of {} bytes, {iterations} iterations", frame.len());
    for (name, run) in [
        ("value (before)", &value_path as &dyn Fn() -> usize),
        ("text (now)", &text_path),
    ] {
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..iterations {
            bytes += run();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name:16} {:>10.0} messages/s  {:>7.2} µs/message  ({bytes} bytes out)",
            iterations as f64 / secs,
            secs * 1e6 / iterations as f64
        );
    }
}
