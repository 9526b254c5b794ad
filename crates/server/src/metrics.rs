//! Prometheus counters, kept as plain atomics and rendered by hand at `/metrics`: the hot
//! path pays one relaxed increment, and no registry crate is needed.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use meetbridge_protocol::bridge::ErrorCode;

const CODES: [ErrorCode; ErrorCode::ALL.len()] = ErrorCode::ALL;

#[derive(Default)]
pub struct Metrics {
    pub connections_total: AtomicU64,
    pub connections_open: AtomicU64,
    pub frames_in: AtomicU64,
    /// Frames queued towards connections (a broadcast to N counts N).
    pub frames_out: AtomicU64,
    pub relayed: AtomicU64,
    pub saves: AtomicU64,
    pub replayed: AtomicU64,
    /// `plugin` frames answered as duplicates of an earlier one with the same `id`.
    pub duplicates: AtomicU64,
    /// Connections dropped because their send queue was full.
    pub slow_disconnects: AtomicU64,
    /// Connections closed because they answered no ping for a whole period.
    pub dead_peers: AtomicU64,
    /// Rooms unloaded after being idle (`--room-idle-secs`).
    pub rooms_unloaded: AtomicU64,
    errors: [AtomicU64; CODES.len()],
    /// TCP connections turned away, by [`REFUSALS`].
    refused: [AtomicU64; REFUSALS.len()],
}

/// Why a TCP connection was turned away before any HTTP: the global cap, the per-address
/// cap, or `accept` itself failing (out of file descriptors).
const REFUSALS: [&str; 3] = ["full", "per_ip", "accept_error"];

impl Metrics {
    pub fn error(&self, code: ErrorCode) {
        if let Some(i) = CODES.iter().position(|c| *c == code) {
            self.errors[i].fetch_add(1, Relaxed);
        }
    }

    pub fn refused_connection(&self, reason: &str) {
        if let Some(i) = REFUSALS.iter().position(|r| *r == reason) {
            self.refused[i].fetch_add(1, Relaxed);
        }
    }

    pub fn refused_connections(&self, reason: &str) -> u64 {
        REFUSALS
            .iter()
            .position(|r| *r == reason)
            .map(|i| self.refused[i].load(Relaxed))
            .unwrap_or(0)
    }

    /// The Prometheus text exposition format, with the gauges read at scrape time: rooms
    /// in memory and the bytes of history they hold.
    pub fn render(&self, rooms_loaded: usize, history_bytes: usize) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, kind: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        counter(
            "meetbridge_connections_total",
            "WebSocket connections accepted.",
            "counter",
            self.connections_total.load(Relaxed),
        );
        counter(
            "meetbridge_connections_open",
            "WebSocket connections open now.",
            "gauge",
            self.connections_open.load(Relaxed),
        );
        counter(
            "meetbridge_frames_in_total",
            "Frames received from clients.",
            "counter",
            self.frames_in.load(Relaxed),
        );
        counter(
            "meetbridge_frames_out_total",
            "Frames queued to clients (one per recipient).",
            "counter",
            self.frames_out.load(Relaxed),
        );
        counter(
            "meetbridge_relayed_total",
            "ovice_message broadcasts and emits relayed.",
            "counter",
            self.relayed.load(Relaxed),
        );
        counter(
            "meetbridge_saves_total",
            "Saved-data documents committed.",
            "counter",
            self.saves.load(Relaxed),
        );
        counter(
            "meetbridge_replayed_total",
            "History frames replayed on reconnect.",
            "counter",
            self.replayed.load(Relaxed),
        );
        counter(
            "meetbridge_duplicates_total",
            "Plugin frames answered as duplicates of an earlier one with the same id.",
            "counter",
            self.duplicates.load(Relaxed),
        );
        counter(
            "meetbridge_dead_peers_total",
            "Connections closed because they answered no ping for a whole period.",
            "counter",
            self.dead_peers.load(Relaxed),
        );
        counter(
            "meetbridge_slow_disconnects_total",
            "Connections dropped as too slow: send queue full (frames or bytes) or a write blocked past the timeout.",
            "counter",
            self.slow_disconnects.load(Relaxed),
        );
        counter(
            "meetbridge_rooms_unloaded_total",
            "Rooms unloaded after being idle (their state stays in the store).",
            "counter",
            self.rooms_unloaded.load(Relaxed),
        );
        counter(
            "meetbridge_rooms_loaded",
            "Rooms (objects) in memory now.",
            "gauge",
            rooms_loaded as u64,
        );
        counter(
            "meetbridge_history_bytes",
            "Bytes of history held in memory by all rooms together.",
            "gauge",
            history_bytes as u64,
        );
        let _ = writeln!(out, "# HELP meetbridge_errors_total Error frames sent, by code.\n# TYPE meetbridge_errors_total counter");
        for (code, n) in CODES.iter().zip(&self.errors) {
            let _ = writeln!(
                out,
                "meetbridge_errors_total{{code=\"{}\"}} {}",
                code.as_str(),
                n.load(Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP meetbridge_connections_refused_total TCP connections turned away before any HTTP, by reason.\n# TYPE meetbridge_connections_refused_total counter");
        for (reason, n) in REFUSALS.iter().zip(&self.refused) {
            let _ = writeln!(
                out,
                "meetbridge_connections_refused_total{{reason=\"{reason}\"}} {}",
                n.load(Relaxed)
            );
        }
        out
    }
}
