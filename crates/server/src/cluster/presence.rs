//! Presence across nodes. This node writes its members into the presence bucket (one
//! queue, so a quick join-then-leave arrives in that order), watches every other node's
//! entries through one consumer and hands them to the rooms, heartbeats, and announces the
//! users of a node that has been silent for `--node-timeout-secs` gone. When NATS comes
//! back after an outage, this node writes its members again.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use meetbridge_broker::presence::{Entry, NodeEvent};
use tokio::sync::{mpsc, watch};

use super::{Cluster, Record};
use crate::hub::Hub;

/// One write of this node's presence of a user on an object.
pub struct Write {
    pub object: String,
    pub user: String,
    /// `None`: the user is no longer present here.
    pub record: Option<Record>,
}

pub fn run(
    cluster: Arc<Cluster>,
    hub: Arc<Hub>,
    writes: mpsc::UnboundedReceiver<Write>,
    stop: watch::Receiver<bool>,
) {
    tokio::spawn(write_loop(cluster.clone(), writes));
    tokio::spawn(watch_loop(cluster.clone(), hub.clone(), stop.clone()));
    tokio::spawn(nodes_loop(cluster.clone(), hub.clone(), stop.clone()));
    tokio::spawn(heartbeat_loop(cluster, hub, stop));
}

async fn write_loop(cluster: Arc<Cluster>, mut writes: mpsc::UnboundedReceiver<Write>) {
    while let Some(w) = writes.recv().await {
        let result = match &w.record {
            Some(record) => match serde_json::to_vec(record) {
                Ok(value) => cluster.presence.put(&w.object, &w.user, value.into()).await,
                Err(_) => continue,
            },
            None => cluster.presence.remove(&w.object, &w.user).await,
        };
        if let Err(e) = result {
            // Written again from the rooms when NATS is back (see `heartbeat_loop`).
            tracing::warn!(object = %w.object, user = %w.user, error = %e, "presence write failed");
        }
    }
}

/// The room of `object`, loaded off the async threads if it is not live yet.
async fn room_of(hub: &Arc<Hub>, object: &str) -> Option<Arc<crate::room::Room>> {
    if let Some(room) = hub.live_room(object) {
        return Some(room);
    }
    let hub = hub.clone();
    let object = object.to_owned();
    tokio::task::spawn_blocking(move || hub.room(&object))
        .await
        .ok()
        .flatten()
}

async fn watch_loop(cluster: Arc<Cluster>, hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    loop {
        match cluster.presence.watch_everything().await {
            Ok(entries) => {
                let mut entries = Box::pin(entries);
                loop {
                    let entry = tokio::select! {
                        e = entries.next() => e,
                        _ = stop.wait_for(|s| *s) => return,
                    };
                    let Some(entry) = entry else { break };
                    on_entry(&cluster, &hub, entry).await;
                }
            }
            Err(e) => tracing::debug!(error = %e, "presence watch failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn on_entry(cluster: &Arc<Cluster>, hub: &Arc<Hub>, entry: Entry) {
    let Some(room) = room_of(hub, &entry.object).await else {
        return;
    };
    if entry.node == cluster.node {
        // Another node took this one for dead and removed its entry: write it again.
        if entry.value.is_none() {
            if let Some(record) = room.local_record(&entry.user) {
                cluster.announce(&entry.object, &entry.user, Some(record));
            }
        }
        return;
    }
    let record = entry
        .value
        .as_ref()
        .and_then(|v| serde_json::from_slice::<Record>(v).ok());
    room.remote_presence(&entry.node, &entry.user, record);
}

/// Heartbeats, and this node's members written again after NATS comes back.
async fn heartbeat_loop(cluster: Arc<Cluster>, hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(cluster.config.node_heartbeat_secs.max(1));
    let mut tick = tokio::time::interval(every.min(Duration::from_millis(500)));
    let mut last_beat = tokio::time::Instant::now();
    let mut was_connected = true;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let connected = cluster.broker.connected();
        if connected && !was_connected {
            tracing::info!(
                broker = cluster.broker.url(),
                "NATS is back: writing this node's presence again"
            );
            let _ = cluster.presence.beat().await;
            for room in hub.rooms() {
                for (user, record) in room.local_records() {
                    cluster.announce(room.id(), &user, Some(record));
                }
            }
        } else if !connected && was_connected {
            tracing::warn!(broker = cluster.broker.url(), "NATS connection lost");
        }
        was_connected = connected;
        if connected && last_beat.elapsed() >= every {
            last_beat = tokio::time::Instant::now();
            if let Err(e) = cluster.presence.beat().await {
                tracing::debug!(error = %e, "heartbeat failed");
            }
        }
    }
}

/// Another node silent for the timeout: once its heartbeat key confirms it (this node may
/// be the one cut off), its users are announced gone here and its entries removed.
async fn nodes_loop(cluster: Arc<Cluster>, hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    let timeout = cluster.node_timeout();
    loop {
        match cluster.presence.watch_nodes(timeout).await {
            Ok(mut events) => loop {
                let event = tokio::select! {
                    e = events.recv() => e,
                    _ = stop.wait_for(|s| *s) => return,
                };
                match event {
                    Some(NodeEvent::Down(node)) => {
                        tokio::spawn(confirm_down(cluster.clone(), hub.clone(), node));
                    }
                    Some(NodeEvent::Up(node)) => tracing::debug!(%node, "node up"),
                    None => break,
                }
            },
            Err(e) => tracing::debug!(error = %e, "watching nodes failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn confirm_down(cluster: Arc<Cluster>, hub: Arc<Hub>, node: String) {
    let timeout = cluster.node_timeout();
    loop {
        match cluster.presence.last_beat(&node).await {
            Ok(Some(at)) if now_ms().saturating_sub(at) < timeout.as_millis() as u64 => {
                // It beats: this node missed the beats, it is not dead.
                return;
            }
            Ok(_) => break,
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
    tracing::info!(%node, "node silent: its users are gone");
    for room in hub.rooms() {
        room.remote_node_gone(&node);
    }
    if let Err(e) = cluster.presence.remove_node(&node).await {
        tracing::debug!(%node, error = %e, "removing a dead node's entries failed");
    }
}

fn now_ms() -> u64 {
    crate::room::now_ms().max(0) as u64
}
