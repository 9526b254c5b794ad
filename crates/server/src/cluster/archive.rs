//! The copy of the stream into the store's message log. Every node pulls from one shared
//! durable consumer, so each frame is archived by one node; a frame is acknowledged to
//! JetStream only once the store committed it, and one a node took but never acknowledged
//! (it died: after the ack wait; the store failed: after a second) is handed out again. Inserts are idempotent on
//! `(object, seq)`, so a frame archived twice is stored once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use meetbridge_broker::Archive;
use tokio::sync::{oneshot, watch};

use super::{frame_text, Cluster};
use crate::hub::Hub;
use crate::store::LogEntry;

/// Frames archived per store commit at most.
const BATCH: usize = 512;

/// How soon a frame the store could not take is handed out again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

pub async fn run(
    cluster: Arc<Cluster>,
    hub: Arc<Hub>,
    mut archive: Archive,
    mut stop: watch::Receiver<bool>,
) {
    let mut floor_read = Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        if floor_read.elapsed() > Duration::from_secs(1) {
            floor_read = Instant::now();
            if let Ok(floor) = archive.floor().await {
                cluster.set_archive_floor(floor);
            }
        }
        let batch = tokio::select! {
            b = archive.fetch(BATCH, Duration::from_secs(1)) => b,
            _ = stop.wait_for(|s| *s) => return,
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                tracing::debug!(error = %e, "archive fetch failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        let mut commits = Vec::with_capacity(batch.len());
        for item in &batch {
            let f = &item.frame;
            let message = String::from_utf8_lossy(&f.message);
            let object_json = serde_json::to_string(&f.object).unwrap_or_default();
            let entry = LogEntry {
                seq: f.seq,
                at_ms: f.at_ms,
                sender: f.sender.clone(),
                to: f.to.clone(),
                frame: frame_text(&object_json, f.seq, &message),
            };
            let (tx, rx) = oneshot::channel();
            hub.store.append(
                &f.object,
                entry,
                None,
                Box::new(move |r| {
                    let _ = tx.send(r);
                }),
            );
            commits.push(rx);
        }
        for (item, commit) in batch.iter().zip(commits) {
            match commit.await {
                Ok(Ok(())) => {
                    if let Err(e) = item.ack().await {
                        tracing::debug!(error = %e, "archive ack failed; the frame comes again");
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(object = %item.frame.object, seq = item.frame.seq, error = %e,
                        "archiving into the store failed; JetStream hands it out again");
                    let _ = item.retry(RETRY_AFTER).await;
                }
                Err(_) => {}
            }
        }
    }
}
