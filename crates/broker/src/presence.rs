//! Presence across nodes: who is on which object through which node, and which nodes are
//! alive.
//!
//! Each node writes its members into a KV bucket (`<prefix>_presence`, key
//! `<object>.<node>.<user>`, the value opaque to the broker: the server's participant
//! record) and heartbeats its own key in `<prefix>_nodes`. A [`NodeWatch`] reports a node
//! `Down` once it has been silent for the timeout, so the others can announce its users
//! `left` / `unsubscribed` and remove its entries, whether it stopped cleanly or was killed.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{kv, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::{failed, token, untoken, Broker, BrokerError};

/// The names of the presence buckets of `prefix`.
pub(crate) fn buckets(prefix: &str) -> [String; 2] {
    [format!("{prefix}_presence"), format!("{prefix}_nodes")]
}

/// One member of an object as some node announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub object: String,
    pub node: String,
    pub user: String,
    /// `None`: the member left (a delete).
    pub value: Option<Bytes>,
}

/// A node came (or came back), or went silent for longer than the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    Up(String),
    Down(String),
}

/// This node's view of the presence buckets.
#[derive(Clone)]
pub struct Presence {
    members: kv::Store,
    nodes: kv::Store,
    node: String,
}

/// A watch's changes as [`Entry`]s, ending at the first watcher error. A watcher whose
/// connection is gone yields errors without ever waiting; skipping them would spin a
/// worker forever inside one poll (and never see a stop signal). Ended, the caller watches
/// again after its own pause, and a watch with history replays what it missed.
fn until_error(watch: kv::Watch) -> impl futures_util::Stream<Item = Entry> + Send + 'static {
    watch
        .take_while(|e| {
            if let Err(error) = e {
                tracing::debug!(%error, "presence watch ended");
            }
            std::future::ready(e.is_ok())
        })
        .filter_map(|e| std::future::ready(e.ok().and_then(changed)))
}

/// One change a watch saw, as an [`Entry`] (a delete has no value); `None` for a key that
/// is not `<object>.<node>.<user>`.
fn changed(e: kv::Entry) -> Option<Entry> {
    let (object, node, user) = parse_key(&e.key)?;
    let value = match e.operation {
        kv::Operation::Put => Some(e.value),
        kv::Operation::Delete | kv::Operation::Purge => None,
    };
    Some(Entry {
        object,
        node,
        user,
        value,
    })
}

fn parse_key(key: &str) -> Option<(String, String, String)> {
    let mut parts = key.splitn(3, '.');
    let object = untoken(parts.next()?)?;
    let node = untoken(parts.next()?)?;
    let user = untoken(parts.next()?)?;
    Some((object, node, user))
}

impl Presence {
    /// Opens (creating if needed) the buckets, as node `node`.
    pub async fn open(broker: &Broker, node: &str) -> Result<Self, BrokerError> {
        let js = broker.jetstream();
        let [members, nodes] = buckets(broker.prefix());
        // The bucket's stream is made here rather than with `create_key_value`, which asks
        // for account details that NATS servers before 2.10 answer in another shape.
        let open = |bucket: String, max_age: Duration| async move {
            if let Ok(store) = js.get_key_value(&bucket).await {
                return Ok(store);
            }
            js.get_or_create_stream(stream::Config {
                name: format!("KV_{bucket}"),
                subjects: vec![format!("$KV.{bucket}.>")],
                max_messages_per_subject: 1,
                max_age,
                storage: stream::StorageType::File,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                discard: stream::DiscardPolicy::New,
                num_replicas: 1,
                ..Default::default()
            })
            .await
            .map_err(failed)?;
            js.get_key_value(&bucket).await.map_err(failed)
        };
        Ok(Presence {
            // Entries of nodes nobody cleaned up go away eventually.
            members: open(members, Duration::from_secs(24 * 3600)).await?,
            nodes: open(nodes, Duration::from_secs(3600)).await?,
            node: node.to_owned(),
        })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    fn key(&self, object: &str, node: &str, user: &str) -> String {
        format!("{}.{}.{}", token(object), token(node), token(user))
    }

    /// Announces (or updates) this node's member `user` on `object`.
    pub async fn put(&self, object: &str, user: &str, value: Bytes) -> Result<(), BrokerError> {
        self.members
            .put(self.key(object, &self.node, user), value)
            .await
            .map(|_| ())
            .map_err(failed)
    }

    /// This node's member `user` left `object`.
    pub async fn remove(&self, object: &str, user: &str) -> Result<(), BrokerError> {
        self.members
            .delete(self.key(object, &self.node, user))
            .await
            .map_err(failed)
    }

    /// The members of `object` on every node, as the bucket has them now.
    pub async fn members(&self, object: &str) -> Result<Vec<Entry>, BrokerError> {
        let prefix = format!("{}.", token(object));
        let mut keys = self.members.keys().await.map_err(failed)?;
        let mut out = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(failed)?;
            if !key.starts_with(&prefix) {
                continue;
            }
            let Some((object, node, user)) = parse_key(&key) else {
                continue;
            };
            if let Some(value) = self.members.get(&key).await.map_err(failed)? {
                out.push(Entry {
                    object,
                    node,
                    user,
                    value: Some(value),
                });
            }
        }
        Ok(out)
    }

    /// Changes to the members of `object` from now on, on every node.
    pub async fn watch(
        &self,
        object: &str,
    ) -> Result<impl futures_util::Stream<Item = Entry> + Send + 'static, BrokerError> {
        let watch = self
            .members
            .watch(format!("{}.>", token(object)))
            .await
            .map_err(failed)?;
        Ok(until_error(watch))
    }

    /// Every member of every object as the bucket has them now (the last value of each key,
    /// deletes included), then every change from then on: a node's whole view of presence
    /// through one consumer.
    pub async fn watch_everything(
        &self,
    ) -> Result<impl futures_util::Stream<Item = Entry> + Send + 'static, BrokerError> {
        let watch = self.members.watch_with_history(">").await.map_err(failed)?;
        Ok(until_error(watch))
    }

    /// When `node` last beat (milliseconds since the Unix epoch, by its clock), if it did.
    pub async fn last_beat(&self, node: &str) -> Result<Option<u64>, BrokerError> {
        let value = self.nodes.get(token(node)).await.map_err(failed)?;
        Ok(value.and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok()))
    }

    /// Removes every entry of `node` (a node found dead, or this one stopping).
    pub async fn remove_node(&self, node: &str) -> Result<usize, BrokerError> {
        let middle = format!(".{}.", token(node));
        let mut keys = self.members.keys().await.map_err(failed)?;
        let mut gone = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(failed)?;
            if key.contains(&middle) {
                gone.push(key);
            }
        }
        for key in &gone {
            self.members.delete(key).await.map_err(failed)?;
        }
        let _ = self.nodes.delete(token(node)).await;
        Ok(gone.len())
    }

    /// Says this node is alive now.
    pub async fn beat(&self) -> Result<(), BrokerError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.nodes
            .put(token(&self.node), now.to_string().into())
            .await
            .map(|_| ())
            .map_err(failed)
    }

    /// Beats every `every` until the returned handle is aborted (or the process dies).
    pub fn spawn_heartbeat(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = me.beat().await {
                    tracing::warn!("presence heartbeat failed: {e}");
                }
            }
        })
    }

    /// Watches the other nodes' heartbeats: `Up` when a node is first heard (or heard
    /// again), `Down` when it has been silent for `timeout`.
    pub async fn watch_nodes(
        &self,
        timeout: Duration,
    ) -> Result<mpsc::UnboundedReceiver<NodeEvent>, BrokerError> {
        let mut watch = self.nodes.watch_all().await.map_err(failed)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let me = token(&self.node);
        // Nodes already known, heard "now": a node that is dead already goes Down after
        // `timeout` like any other.
        let mut heard: HashMap<String, Instant> = HashMap::new();
        if let Ok(mut keys) = self.nodes.keys().await {
            while let Some(Ok(key)) = keys.next().await {
                if key != me {
                    heard.insert(key.clone(), Instant::now());
                    let _ = tx.send(NodeEvent::Up(untoken(&key).unwrap_or(key)));
                }
            }
        }
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    e = watch.next() => {
                        let Some(Ok(e)) = e else { break };
                        if e.key == me || e.operation != kv::Operation::Put {
                            continue;
                        }
                        if heard.insert(e.key.clone(), Instant::now()).is_none()
                            && tx.send(NodeEvent::Up(untoken(&e.key).unwrap_or(e.key))).is_err()
                        {
                            break;
                        }
                    }
                    _ = tick.tick() => {
                        let silent: Vec<String> = heard
                            .iter()
                            .filter(|(_, at)| at.elapsed() > timeout)
                            .map(|(k, _)| k.clone())
                            .collect();
                        for key in silent {
                            heard.remove(&key);
                            if tx.send(NodeEvent::Down(untoken(&key).unwrap_or(key))).is_err() {
                                return;
                            }
                        }
                        if tx.is_closed() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(rx)
    }
}
