//! Cluster mode (`--broker nats://…`): this node's link to the others, through NATS
//! JetStream (the `meetbridge-broker` crate) and the shared PostgreSQL store.
//!
//! - [`publish`]: relayed frames go to the stream in the order the rooms submit them; the
//!   stream sequence is the object's `seq`, and the sender is acknowledged once JetStream
//!   has stored the frame. Every node with members on an object consumes its subject and
//!   delivers locally (the room's side is `room/cluster.rs`).
//! - [`archive`]: the nodes together copy the stream into the store's message log, so the
//!   long history (per retention) is in PostgreSQL; inserts are idempotent on `(object, seq)`.
//! - [`presence`]: each node's members in the presence bucket, the others' watched, node
//!   heartbeats; a silent node's users are announced gone.
//! - [`health`]: whether NATS and the store answer, for `/healthz` and `/metrics`.
//! - [`floor`]: objects added, edited or deleted on one node reach the others' rooms and
//!   pages.

pub mod archive;
pub mod floor;
pub mod health;
pub mod presence;
pub mod publish;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use meetbridge_broker::presence::Presence;
use meetbridge_broker::{Broker, BrokerConfig, Outgoing};
use meetbridge_protocol::bridge::Identity;
use meetbridge_protocol::ovice::PresenceStatus;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::config::ClusterConfig;
use crate::hub::Hub;
pub use publish::PublishDone;

/// How long the archive's frames may stay unacknowledged before another node gets them.
const ARCHIVE_ACK_WAIT: Duration = Duration::from_secs(30);

/// What a node writes into the presence bucket for one of its members on one object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub identity: Identity,
    pub status: PresenceStatus,
}

/// This node in the cluster.
pub struct Cluster {
    pub broker: Broker,
    pub presence: Presence,
    pub node: String,
    publish: mpsc::UnboundedSender<publish::Job>,
    announce: mpsc::UnboundedSender<presence::Write>,
    /// Every frame at or below this stream sequence is in the store's log.
    archive_floor: AtomicU64,
    pub health: health::Health,
    pub config: ClusterConfig,
    /// The receiving ends of the queues, taken by [`Cluster::run`].
    queues: std::sync::Mutex<Option<Queues>>,
}

struct Queues {
    publish: mpsc::UnboundedReceiver<publish::Job>,
    announce: mpsc::UnboundedReceiver<presence::Write>,
    archive: meetbridge_broker::Archive,
}

impl Cluster {
    /// Connects to NATS (the stream, the buckets, the archive consumer). Fails with an
    /// error naming the URL when NATS does not answer or has no JetStream. `ids_for`: how
    /// long JetStream remembers message ids (its duplicate window, set when the stream is
    /// created).
    pub async fn connect(
        config: &ClusterConfig,
        url: &str,
        ids_for: Duration,
    ) -> anyhow::Result<Arc<Cluster>> {
        let node = config.node_id.clone().unwrap_or_else(|| {
            use rand::Rng;
            format!("n{:08x}", rand::thread_rng().gen::<u32>())
        });
        let mut broker_config = BrokerConfig::new(url);
        broker_config.prefix = config.broker_prefix.clone();
        broker_config.max_age = Duration::from_secs(config.broker_max_age_secs.max(60));
        // JetStream requires the duplicate window within the stream's age.
        broker_config.duplicate_window = ids_for.min(broker_config.max_age);
        let broker = Broker::connect(&broker_config)
            .await
            .with_context(|| format!("--broker {url}"))?;
        let presence = Presence::open(&broker, &node)
            .await
            .with_context(|| format!("opening the presence buckets on NATS at {url}"))?;
        let mut archive = broker
            .archive(ARCHIVE_ACK_WAIT)
            .await
            .with_context(|| format!("opening the archive consumer on NATS at {url}"))?;
        let floor = archive
            .floor()
            .await
            .with_context(|| format!("reading the archive consumer on NATS at {url}"))?;
        // A node restarting under a fixed id leaves nothing of its previous life behind.
        let _ = presence.remove_node(&node).await;
        presence
            .beat()
            .await
            .with_context(|| format!("writing this node's heartbeat on NATS at {url}"))?;
        if broker.max_payload() < 2 * 1024 * 1024 + 4096 {
            tracing::warn!(
                max_payload = broker.max_payload(),
                "NATS max_payload is under oVice's 2 MiB messages: larger ones are refused (set max_payload: 8MB)"
            );
        }
        let (publish_tx, publish_rx) = mpsc::unbounded_channel();
        let (announce_tx, announce_rx) = mpsc::unbounded_channel();
        let cluster = Arc::new(Cluster {
            broker,
            presence,
            node,
            publish: publish_tx,
            announce: announce_tx,
            archive_floor: AtomicU64::new(floor),
            health: health::Health::default(),
            config: config.clone(),
            queues: std::sync::Mutex::new(Some(Queues {
                publish: publish_rx,
                announce: announce_rx,
                archive,
            })),
        });
        tracing::info!(node = %cluster.node, broker = url, archived = floor, "joined the cluster");
        Ok(cluster)
    }

    /// Starts the node's background work: publishing, archiving, presence, heartbeats,
    /// health. Runs until `stop`.
    pub fn run(self: &Arc<Self>, hub: Arc<Hub>, stop: watch::Receiver<bool>) {
        let Some(queues) = self.queues.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        tokio::spawn(publish::run(self.broker.clone(), queues.publish));
        presence::run(self.clone(), hub.clone(), queues.announce, stop.clone());
        tokio::spawn(archive::run(
            self.clone(),
            hub.clone(),
            queues.archive,
            stop.clone(),
        ));
        floor::run(self.clone(), hub.clone(), stop.clone());
        health::run(self.clone(), hub, stop);
    }

    /// Publishes `out` on `object`, after everything submitted before it; `done` gets
    /// JetStream's answer.
    pub fn publish(&self, object: &str, out: Outgoing, done: PublishDone) {
        let job = publish::Job {
            object: object.to_owned(),
            out,
            done,
        };
        if let Err(mpsc::error::SendError(job)) = self.publish.send(job) {
            (job.done)(Err(meetbridge_broker::BrokerError::Unavailable(
                "the node is stopping".into(),
            )));
        }
    }

    /// Writes this node's presence of `user` on `object` (`None`: gone), after every
    /// earlier write.
    pub fn announce(&self, object: &str, user: &str, record: Option<Record>) {
        let _ = self.announce.send(presence::Write {
            object: object.to_owned(),
            user: user.to_owned(),
            record,
        });
    }

    /// Every frame at or below this stream sequence is in the store's log: a room starts
    /// from the store up to here, and from the stream after it.
    pub fn archive_floor(&self) -> u64 {
        self.archive_floor.load(Ordering::Relaxed)
    }

    fn set_archive_floor(&self, floor: u64) {
        self.archive_floor.fetch_max(floor, Ordering::Relaxed);
    }

    /// How long another node may be silent before it counts as dead.
    pub fn node_timeout(&self) -> Duration {
        Duration::from_secs(self.config.node_timeout_secs.max(1))
    }

    /// Leaves the cluster cleanly: this node's members are removed from the bucket, so
    /// the others announce them gone at once rather than after the timeout.
    pub async fn leave(&self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(3),
            self.presence.remove_node(&self.node),
        )
        .await;
    }
}

/// The encoded `plugin` frame of a relayed message: the same bytes on every node and in
/// the store's log.
pub fn frame_text(object_json: &str, seq: u64, message_json: &str) -> String {
    format!(
        "{{\"op\":\"plugin\",\"object\":{object_json},\"seq\":{seq},\"message\":{message_json}}}"
    )
}
