//! Saved data: get, save-and-emit, success only after the commit, durable across restarts.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn get_save_and_share_data() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.present("b", "o1", "subscribed").await;
    a.drain().await;

    let got = a.get_data("o1").await;
    assert_eq!(
        messages(&got),
        [&json!({"type": "ovice_saved_data", "payload": {}})]
    );

    let before = meetbridge_server::auth::token::now_secs();
    let got = a
        .plugin("o1", json!({"type": "ovice_save_and_emit_data", "payload": {"value1": "12", "value2": "test"}}))
        .await;
    let success = messages(&got)[0].clone();
    assert_eq!(success["type"], "ovice_data_saved_success");
    assert_eq!(success["payload"]["value1"], "12");
    assert_eq!(success["payload"]["value2"], "test");
    let at = success["payload"]["updated_at"].as_i64().unwrap();
    assert!(
        at >= before && at <= before + 5,
        "updated_at in seconds: {at}"
    );
    assert_eq!(got.last().unwrap()["op"], "ack");

    let shared = b.recv_plugin().await;
    assert_eq!(
        shared["message"],
        json!({"type": "ovice_shared_data", "payload": {"value1": "12", "value2": "test"}})
    );
    a.assert_quiet().await;

    let got = b.get_data("o1").await;
    assert_eq!(
        messages(&got),
        [&json!({"type": "ovice_saved_data", "payload": {"value1": "12", "value2": "test"}})]
    );
}

#[tokio::test]
async fn acknowledged_saves_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut s = start_in(dir, |c| {
        c.data.sqlite_sync = meetbridge_server::config::SqliteSync::Full
    })
    .await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    for i in 0..20 {
        let got = a
            .plugin(
                "o1",
                json!({"type": "ovice_save_and_emit_data", "payload": {"n": i}}),
            )
            .await;
        assert_eq!(got.last().unwrap()["op"], "ack");
    }
    drop(a);
    s.stop().await;

    let dir = s.dir;
    assert_eq!(dir.path(), path);
    let s = start_in(dir, |_| {}).await;
    // The object came back from the store, not from this test.
    let mut a = s.joined("a", "o1").await;
    let got = a.get_data("o1").await;
    assert_eq!(
        messages(&got),
        [&json!({"type": "ovice_saved_data", "payload": {"n": 19}})]
    );
}

#[tokio::test]
async fn oversize_data_is_refused_and_not_stored() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let big = "y".repeat(500 * 1024);
    let got = a
        .plugin(
            "o1",
            json!({"type": "ovice_save_and_emit_data", "payload": {"k": big}}),
        )
        .await;
    let err = got.last().unwrap();
    assert_eq!(err["code"], "too_large");
    assert_eq!(err["field"], "message.payload");
    let got = a.get_data("o1").await;
    assert_eq!(
        messages(&got),
        [&json!({"type": "ovice_saved_data", "payload": {}})]
    );
}
