//! Floor changes across nodes. A change made through this node's API (an object added,
//! edited or deleted; a space changed or deleted) is published on the core NATS subject
//! `<prefix>.floor`; every other node drops or redefines its loaded rooms to match and
//! tells its own sockets of the space. Core NATS, not the stream: a page that misses a
//! change (its node was cut off) reads the space again when it reconnects, and a room
//! that was not redefined reads its definition from the shared store when it loads.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use meetbridge_protocol::space::FloorFrame;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::Cluster;
use crate::hub::Hub;

/// One change as it crosses the cluster: which node made it, and the frame.
#[derive(Debug, Serialize, Deserialize)]
struct Change {
    node: String,
    frame: FloorFrame,
}

fn subject(cluster: &Cluster) -> String {
    format!("{}.floor", cluster.config.broker_prefix)
}

impl Cluster {
    /// Tells the other nodes of a floor change made here.
    pub async fn share_floor(&self, frame: &FloorFrame) {
        let change = Change {
            node: self.node.clone(),
            frame: frame.clone(),
        };
        let Ok(body) = serde_json::to_vec(&change) else {
            return;
        };
        if let Err(e) = self
            .broker
            .client()
            .publish(subject(self), body.into())
            .await
        {
            tracing::warn!(error = %e, "publishing a floor change to the cluster failed");
        }
    }
}

/// Follows the other nodes' floor changes until `stop`, resubscribing after an outage.
pub fn run(cluster: Arc<Cluster>, hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            match cluster.broker.client().subscribe(subject(&cluster)).await {
                Ok(mut changes) => loop {
                    let message = tokio::select! {
                        m = changes.next() => m,
                        _ = stop.wait_for(|s| *s) => return,
                    };
                    let Some(message) = message else { break };
                    match serde_json::from_slice::<Change>(&message.payload) {
                        Ok(change) if change.node != cluster.node => {
                            hub.floor_changed_elsewhere(change.frame)
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "ignored a malformed floor change"),
                    }
                },
                Err(e) => tracing::debug!(error = %e, "floor subscription failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
}
