//! The server's Prometheus metrics, on `prometheus-client`: one [`Registry`] per server,
//! and every handle registered once, here, so the hot path holds the handle and pays one
//! relaxed atomic add per event (no lookup by name or label). Labelled families
//! (`errors_total{code}`, `connections_refused_total{reason}`) are resolved to one handle
//! per label value at start.
//!
//! Histograms are [`Histogram`], this module's own: an observation is two relaxed
//! atomic adds (its bucket and the sum), where the crate's own histogram takes a lock.
//! They measure what an operator watches: the commit of a save, the relay of a message
//! from its receipt to the last recipient's queue, one write to a connection, the frames
//! of a history replay.
//!
//! `prometheus-client` rather than the `metrics` facade: its registry is a value owned by
//! the server, not a process-wide recorder, so several servers in one process (the
//! integration tests) count apart; its counters can be read back (`get`, for the memory
//! trimmer and the tests); and its histograms keep buckets, not every sample until a scrape
//! drains them.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meetbridge_protocol::bridge::ErrorCode;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

const CODES: [ErrorCode; ErrorCode::ALL.len()] = ErrorCode::ALL;

/// Why a TCP connection was turned away before any HTTP: the global cap, the per-address
/// cap, or `accept` itself failing (out of file descriptors).
const REFUSALS: [&str; 3] = ["full", "per_ip", "accept_error"];

/// Latency buckets, seconds: 50 µs to 10 s.
const SECONDS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// Replay-size buckets, frames: up to a full replay (`MAX_REPLAY`).
const FRAMES: &[f64] = &[0.0, 1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0];

type Labelled = Family<[(&'static str, &'static str); 1], Counter>;

pub struct Metrics {
    /// Locked only to encode a scrape.
    registry: Mutex<Registry>,
    pub connections_total: Counter,
    pub connections_open: Gauge,
    pub frames_in: Counter,
    /// Frames queued towards connections (a broadcast to N counts N).
    pub frames_out: Counter,
    pub relayed: Counter,
    pub saves: Counter,
    pub replayed: Counter,
    /// `plugin` frames answered as duplicates of an earlier one with the same `id`.
    pub duplicates: Counter,
    /// Connections dropped as too slow: send queue full, or a write past its timeout.
    pub slow_disconnects: Counter,
    /// Connections closed because they answered no ping for a whole period.
    pub dead_peers: Counter,
    /// Rooms unloaded after being idle (`--room-idle-secs`).
    pub rooms_unloaded: Counter,
    /// Set at each scrape from the registry of rooms.
    rooms_loaded: Gauge,
    history_bytes: Gauge,
    /// From a save's submission to the store until its commit.
    pub save_commit: Histogram,
    /// From a relayed frame's receipt until it is in the last recipient's queue (its
    /// log append committed on the way).
    pub relay: Histogram,
    /// One write of queued frames to one connection.
    pub write: Histogram,
    /// Frames sent in answer to one resume (`since`) or `history` request.
    pub replay_frames: Histogram,
    errors: Vec<Counter>,
    refused: Vec<Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric of the server, registered.
    pub fn new() -> Self {
        let mut r = Registry::default();
        let mut counter = |name: &str, help: &str| {
            let c = Counter::default();
            // The text encoding adds `_total` to a counter's name.
            r.register(name, help, c.clone());
            c
        };
        let connections_total =
            counter("meetbridge_connections", "WebSocket connections accepted.");
        let frames_in = counter("meetbridge_frames_in", "Frames received from clients.");
        let frames_out = counter(
            "meetbridge_frames_out",
            "Frames queued to clients (one per recipient).",
        );
        let relayed = counter(
            "meetbridge_relayed",
            "ovice_message broadcasts and emits relayed.",
        );
        let saves = counter("meetbridge_saves", "Saved-data documents committed.");
        let replayed = counter(
            "meetbridge_replayed",
            "History frames replayed on reconnect.",
        );
        let duplicates = counter(
            "meetbridge_duplicates",
            "Plugin frames answered as duplicates of an earlier one with the same id.",
        );
        let dead_peers = counter(
            "meetbridge_dead_peers",
            "Connections closed because they answered no ping for a whole period.",
        );
        let slow_disconnects = counter(
            "meetbridge_slow_disconnects",
            "Connections dropped as too slow: send queue full (frames or bytes) or a write blocked past the timeout.",
        );
        let rooms_unloaded = counter(
            "meetbridge_rooms_unloaded",
            "Rooms unloaded after being idle (their state stays in the store).",
        );
        let mut gauge = |name: &str, help: &str| {
            let g = Gauge::default();
            r.register(name, help, g.clone());
            g
        };
        let connections_open = gauge(
            "meetbridge_connections_open",
            "WebSocket connections open now.",
        );
        let rooms_loaded = gauge("meetbridge_rooms_loaded", "Rooms (objects) in memory now.");
        let history_bytes = gauge(
            "meetbridge_history_bytes",
            "Bytes of history held in memory by all rooms together.",
        );
        let errors_family = Labelled::default();
        r.register(
            "meetbridge_errors",
            "Error frames sent, by code.",
            errors_family.clone(),
        );
        let errors = CODES
            .iter()
            .map(|c| errors_family.get_or_create_owned(&[("code", c.as_str())]))
            .collect();
        let refused_family = Labelled::default();
        r.register(
            "meetbridge_connections_refused",
            "TCP connections turned away before any HTTP, by reason.",
            refused_family.clone(),
        );
        let refused = REFUSALS
            .iter()
            .map(|reason| refused_family.get_or_create_owned(&[("reason", *reason)]))
            .collect();
        let mut histogram = |name: &str, help: &str, unit: Unit, h: Histogram| {
            r.register_with_unit(name, help, unit, h.clone());
            h
        };
        let save_commit = histogram(
            "meetbridge_save_commit",
            "Time from a save's submission to the store until its commit.",
            Unit::Seconds,
            Histogram::seconds(),
        );
        let relay = histogram(
            "meetbridge_relay",
            "Time from a relayed frame's receipt until it is queued to its last recipient (the log append included).",
            Unit::Seconds,
            Histogram::seconds(),
        );
        let write = histogram(
            "meetbridge_write",
            "Time of one write of queued frames to one connection.",
            Unit::Seconds,
            Histogram::seconds(),
        );
        let replay_frames = histogram(
            "meetbridge_replay",
            "Frames sent in answer to one resume (since) or history request.",
            Unit::Other("frames".into()),
            Histogram::new(FRAMES, 1.0),
        );
        Metrics {
            registry: Mutex::new(r),
            connections_total,
            connections_open,
            frames_in,
            frames_out,
            relayed,
            saves,
            replayed,
            duplicates,
            slow_disconnects,
            dead_peers,
            rooms_unloaded,
            rooms_loaded,
            history_bytes,
            save_commit,
            relay,
            write,
            replay_frames,
            errors,
            refused,
        }
    }

    pub fn error(&self, code: ErrorCode) {
        if let Some(i) = CODES.iter().position(|c| *c == code) {
            self.errors[i].inc();
        }
    }

    pub fn refused_connection(&self, reason: &str) {
        if let Some(i) = REFUSALS.iter().position(|r| *r == reason) {
            self.refused[i].inc();
        }
    }

    pub fn refused_connections(&self, reason: &str) -> u64 {
        REFUSALS
            .iter()
            .position(|r| *r == reason)
            .map(|i| self.refused[i].get())
            .unwrap_or(0)
    }

    /// The text exposition (OpenMetrics; [`CONTENT_TYPE`]), with the gauges read at scrape
    /// time: rooms in memory and the bytes of history they hold.
    pub fn render(&self, rooms_loaded: usize, history_bytes: usize) -> String {
        self.rooms_loaded.set(rooms_loaded as i64);
        self.history_bytes.set(history_bytes as i64);
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        // Writing into a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

/// Adds `more` (families rendered elsewhere, such as the cluster's) to a rendered text,
/// before its closing `# EOF`.
pub fn append(text: &mut String, more: &str) {
    let end = text.strip_suffix("# EOF\n").map(str::len);
    text.truncate(end.unwrap_or(text.len()));
    text.push_str(more);
    text.push_str("# EOF\n");
}

/// What `/metrics` answers with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A histogram with fixed buckets whose observation is two relaxed atomic adds: one to its
/// bucket, one to the sum (kept in integer units: nanoseconds, frames). The count is the
/// buckets' total. A scrape reads the atomics one by one, so it may see an observation's
/// bucket without its sum: harmless for rates and quantiles.
#[derive(Debug, Clone)]
pub struct Histogram(Arc<HistogramInner>);

#[derive(Debug)]
struct HistogramInner {
    bounds: &'static [f64],
    /// One per bound, then `+Inf`.
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
    /// What one unit of `sum` is worth.
    unit: f64,
}

impl Histogram {
    fn new(bounds: &'static [f64], unit: f64) -> Self {
        Histogram(Arc::new(HistogramInner {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            unit,
        }))
    }

    fn seconds() -> Self {
        Histogram::new(SECONDS, 1e-9)
    }

    /// Observes a time.
    pub fn observe_time(&self, d: Duration) {
        self.observe_units(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Observes a count (frames).
    pub fn observe_count(&self, n: usize) {
        self.observe_units(n as u64);
    }

    fn observe_units(&self, units: u64) {
        let h = &self.0;
        let value = units as f64 * h.unit;
        let i = h.bounds.partition_point(|b| *b < value);
        h.buckets[i].fetch_add(1, Relaxed);
        h.sum.fetch_add(units, Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.0.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let h = &self.0;
        let buckets: Vec<(f64, u64)> = h
            .bounds
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(h.buckets.iter().map(|b| b.load(Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = h.sum.load(Relaxed) as f64 * h.unit;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_renders_and_histograms_are_cumulative() {
        let m = Metrics::new();
        m.frames_out.inc();
        m.connections_open.inc();
        m.error(ErrorCode::BadFrame);
        m.refused_connection("per_ip");
        m.write.observe_time(Duration::from_micros(300));
        m.write.observe_time(Duration::from_secs(60));
        m.replay_frames.observe_count(12);
        let text = m.render(3, 1024);
        for line in [
            "meetbridge_frames_out_total 1",
            "meetbridge_connections_open 1",
            "meetbridge_connections_total 0",
            "meetbridge_errors_total{code=\"bad_frame\"} 1",
            "meetbridge_errors_total{code=\"internal\"} 0",
            "meetbridge_connections_refused_total{reason=\"per_ip\"} 1",
            "meetbridge_rooms_loaded 3",
            "meetbridge_history_bytes 1024",
            "meetbridge_write_seconds_count 2",
            "meetbridge_write_seconds_bucket{le=\"0.00025\"} 0",
            "meetbridge_write_seconds_bucket{le=\"0.0005\"} 1",
            "meetbridge_write_seconds_bucket{le=\"10.0\"} 1",
            "meetbridge_write_seconds_bucket{le=\"+Inf\"} 2",
            "meetbridge_replay_frames_bucket{le=\"50.0\"} 1",
            "meetbridge_replay_frames_sum 12.0",
            "meetbridge_save_commit_seconds_count 0",
            "meetbridge_relay_seconds_count 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        assert_eq!(m.refused_connections("per_ip"), 1);
        assert_eq!(m.write.count(), 2);
        let mut text = text;
        append(&mut text, "# TYPE more gauge\nmore 1\n");
        assert!(text.ends_with("\nmore 1\n# EOF\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1);
    }

    /// The dashboard in `docs/` asks only for series the server renders.
    #[test]
    fn the_grafana_dashboard_queries_series_that_exist() {
        let dashboard = include_str!("../../../docs/grafana-meetbridge.json");
        let text = Metrics::new().render(0, 0);
        let series: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split([' ', '{']).next())
            .collect();
        let mut asked = 0;
        for (i, _) in dashboard.match_indices("meetbridge_") {
            let name: String = dashboard[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name == "meetbridge_" || name.starts_with("meetbridge_server") {
                continue;
            }
            asked += 1;
            assert!(
                series.contains(&name.as_str()),
                "the dashboard asks for {name}"
            );
        }
        assert!(asked > 20, "{asked}");
    }
}
