//! `/metrics` after real traffic: every counter the dashboard reads, and the latency and
//! size histograms, scraped over HTTP (on `--metrics-listen`, where operators put it).

use std::collections::HashMap;

use serde_json::json;

use crate::common::*;

/// The samples of a Prometheus/OpenMetrics text: series (name and labels) → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn the_histograms_count_relays_saves_writes_and_replays() {
    let s = start_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    a.drain().await;
    for n in 0..3 {
        a.plugin("o1", broadcast(n)).await;
        b.recv_plugin().await;
    }
    let saved = a
        .plugin(
            "o1",
            json!({"type": "ovice_save_and_emit_data", "payload": {"v": 1}}),
        )
        .await;
    assert_eq!(saved.last().unwrap()["op"], "ack");
    b.drain().await;
    // A resume and a history request: two replays, of 4 frames each.
    let mut c = s.client("b").await;
    c.resume("o1", "joined", 0).await;
    c.request(json!({"op": "history", "object": "o1", "since": 0}))
        .await;

    let at = s.server.as_ref().unwrap().metrics_addr.unwrap();
    let response = reqwest::get(format!("http://{at}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let got = samples(&text);
    let value = |series: &str| -> f64 {
        *got.get(series)
            .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
    };
    // The counters keep their names.
    assert_eq!(value("meetbridge_relayed_total"), 3.0);
    assert_eq!(value("meetbridge_saves_total"), 1.0);
    assert_eq!(value("meetbridge_connections_total"), 3.0);
    assert_eq!(value("meetbridge_connections_open"), 3.0);
    assert!(value("meetbridge_frames_out_total") >= 4.0);
    assert_eq!(value("meetbridge_errors_total{code=\"bad_frame\"}"), 0.0);
    assert_eq!(
        value("meetbridge_connections_refused_total{reason=\"full\"}"),
        0.0
    );
    // Each histogram: a count, a sum, cumulative buckets ending at +Inf = count.
    for (name, at_least) in [
        ("meetbridge_relay_seconds", 3.0),
        ("meetbridge_save_commit_seconds", 1.0),
        ("meetbridge_write_seconds", 4.0),
        ("meetbridge_replay_frames", 2.0),
    ] {
        let count = value(&format!("{name}_count"));
        assert!(count >= at_least, "{name}_count is {count}");
        assert_eq!(value(&format!("{name}_bucket{{le=\"+Inf\"}}")), count);
        assert!(value(&format!("{name}_sum")) > 0.0, "{name}_sum");
        let buckets: Vec<f64> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{name}_bucket{{")))
            .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
            .collect();
        assert!(buckets.len() > 5, "{name}: {buckets:?}");
        assert!(
            buckets.windows(2).all(|w| w[0] <= w[1]),
            "{name}: {buckets:?}"
        );
    }
    // The two replays were of the 4 kept frames (3 broadcasts, 1 shared data).
    assert_eq!(value("meetbridge_replay_frames_count"), 2.0);
    assert_eq!(value("meetbridge_replay_frames_sum"), 8.0);
    assert_eq!(value("meetbridge_replay_frames_bucket{le=\"1.0\"}"), 0.0);
    assert_eq!(value("meetbridge_replay_frames_bucket{le=\"10.0\"}"), 2.0);
}
