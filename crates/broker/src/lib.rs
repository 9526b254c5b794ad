//! What crosses the nodes of a meetbridge cluster, on NATS JetStream.
//!
//! - **Relayed frames** ([`Broker::publish`], [`Broker::subscribe`]): one stream
//!   (`<PREFIX>_OBJECTS`, file storage) with a subject per object (`<prefix>.obj.<id>`). A
//!   node publishes each relayed message and treats JetStream's acknowledgement as
//!   durability; the stream sequence is the object's `seq`, so every node sees one total
//!   order per object and a client can resume with `since` on any node. A message id
//!   (`Nats-Msg-Id`, from the sender's idempotency id) makes JetStream drop a resend within
//!   its duplicate window and answer with the first copy's sequence.
//! - **Presence** ([`presence`]): who is on which object through which node, in a KV
//!   bucket, and node heartbeats, so the users of a node that stops are known to be gone
//!   within the heartbeat timeout.

pub mod presence;

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

/// How to reach NATS and name what this cluster uses there.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `nats://HOST:PORT`.
    pub url: String,
    /// Subject prefix and stream/bucket name prefix (`mb`: subjects `mb.obj.<id>`).
    pub prefix: String,
    /// How long the stream keeps frames (the cluster's history lives in the store).
    pub max_age: Duration,
    /// JetStream's duplicate window: how long a message id is remembered.
    pub duplicate_window: Duration,
}

impl BrokerConfig {
    pub fn new(url: impl Into<String>) -> Self {
        BrokerConfig {
            url: url.into(),
            prefix: "mb".into(),
            max_age: Duration::from_secs(24 * 3600),
            duplicate_window: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    /// NATS could not be reached or refused; the text names the URL.
    Unavailable(String),
    /// The frame is larger than the NATS server accepts (`max_payload`).
    TooLarge { bytes: usize, max: usize },
    /// Anything else JetStream said.
    Failed(String),
}

impl std::fmt::Display for BrokerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerError::Unavailable(m) => write!(f, "NATS unavailable: {m}"),
            BrokerError::TooLarge { bytes, max } => write!(
                f,
                "frame of {bytes} bytes is over the NATS server's max_payload of {max} bytes"
            ),
            BrokerError::Failed(m) => write!(f, "NATS JetStream failed: {m}"),
        }
    }
}

impl std::error::Error for BrokerError {}

fn failed(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Failed(e.to_string())
}

/// What a relayed frame is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An `ovice_message` (broadcast or emit).
    Message,
    /// An `ovice_shared_data` after a save.
    SharedData,
}

/// A frame to relay through the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The sender's user key.
    pub sender: String,
    /// `None`: every member but the sender; `Some(user)`: that user only.
    pub to: Option<String>,
    pub kind: Kind,
    /// The message (the `ovice_message` / `ovice_shared_data` JSON), carried unchanged.
    pub message: Bytes,
    /// The sender's idempotency id: a resend within the duplicate window is not stored
    /// again and gets the first copy's `seq`.
    pub id: Option<String>,
}

/// What JetStream answered to a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The object's sequence number for this frame (the stream sequence).
    pub seq: u64,
    /// A resend of a message id seen within the window: nothing was stored.
    pub duplicate: bool,
}

/// A relayed frame as every node receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The object it was published on.
    pub object: String,
    pub seq: u64,
    /// When JetStream stored it (milliseconds since the Unix epoch).
    pub at_ms: i64,
    pub sender: String,
    pub to: Option<String>,
    pub kind: Kind,
    pub message: Bytes,
}

/// The envelope before the message on the wire: `{"s":..,"t":..,"k":..}\n<message>`.
#[derive(Serialize, Deserialize)]
struct Envelope {
    s: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<String>,
    k: Kind,
}

fn encode(out: &Outgoing) -> Bytes {
    let env = Envelope {
        s: out.sender.clone(),
        t: out.to.clone(),
        k: out.kind,
    };
    let mut buf = serde_json::to_vec(&env).unwrap_or_default();
    buf.push(b'\n');
    buf.extend_from_slice(&out.message);
    buf.into()
}

fn decode(object: String, seq: u64, at_ms: i64, payload: &Bytes) -> Result<Delivered, BrokerError> {
    let nl = payload
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| failed("frame without an envelope"))?;
    let env: Envelope = serde_json::from_slice(&payload[..nl]).map_err(failed)?;
    Ok(Delivered {
        object,
        seq,
        at_ms,
        sender: env.s,
        to: env.t,
        kind: env.k,
        message: payload.slice(nl + 1..),
    })
}

/// The frame a JetStream message carries, with its object (from the subject), sequence
/// number and time.
fn delivered(prefix: &str, m: &jetstream::Message) -> Result<Delivered, BrokerError> {
    let info = m.info().map_err(failed)?;
    let object = m
        .subject
        .as_str()
        .strip_prefix(prefix)
        .and_then(|s| s.strip_prefix(".obj."))
        .and_then(untoken)
        .ok_or_else(|| failed(format!("frame on an unexpected subject {}", m.subject)))?;
    let at_ms = (info.published.unix_timestamp_nanos() / 1_000_000) as i64;
    decode(object, info.stream_sequence, at_ms, &m.payload)
}

/// `s` as a single subject token / KV key part: itself when it is made of safe
/// characters, else `=` and its hex (both fit subjects and KV keys).
pub(crate) fn token(s: &str) -> String {
    let safe = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if safe {
        s.to_owned()
    } else {
        let mut out = String::with_capacity(1 + 2 * s.len());
        out.push('=');
        for b in s.bytes() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

/// The inverse of [`token`].
pub(crate) fn untoken(t: &str) -> Option<String> {
    match t.strip_prefix('=') {
        None => Some(t.to_owned()),
        Some(hex) => {
            let bytes: Option<Vec<u8>> = (0..hex.len())
                .step_by(2)
                .map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect();
            String::from_utf8(bytes?).ok()
        }
    }
}

/// One node's connection to the cluster's NATS.
#[derive(Clone)]
pub struct Broker {
    client: async_nats::Client,
    js: jetstream::Context,
    stream: String,
    prefix: String,
    max_payload: usize,
    url: String,
}

impl Broker {
    /// Connects and makes sure the stream exists. Fails with a message naming the URL when
    /// NATS does not answer or has no JetStream.
    pub async fn connect(config: &BrokerConfig) -> Result<Self, BrokerError> {
        let url = &config.url;
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connect(url.as_str());
        // `retry_on_initial_connect` returns at once; wait for the first connection.
        let client = client.await.map_err(|e| {
            BrokerError::Unavailable(format!(
                "cannot connect to {url}: {e} (check that nats-server runs with JetStream on)"
            ))
        })?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while client.connection_state() != async_nats::connection::State::Connected {
            if tokio::time::Instant::now() > deadline {
                return Err(BrokerError::Unavailable(format!(
                    "no answer from NATS at {url} within 5 s (check that nats-server runs with JetStream on)"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let js = jetstream::new(client.clone());
        let stream = format!("{}_OBJECTS", config.prefix.to_uppercase());
        js.get_or_create_stream(stream::Config {
            name: stream.clone(),
            subjects: vec![format!("{}.obj.>", config.prefix)],
            storage: stream::StorageType::File,
            max_age: config.max_age,
            duplicate_window: config.duplicate_window,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            BrokerError::Unavailable(format!(
                "NATS at {url} did not create JetStream stream {stream}: {e} (is JetStream on?)"
            ))
        })?;
        let max_payload = client.server_info().max_payload;
        Ok(Broker {
            client,
            js,
            stream,
            prefix: config.prefix.clone(),
            max_payload,
            url: url.clone(),
        })
    }

    /// The NATS server's largest message (`max_payload`).
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the connection to NATS is up.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    fn subject(&self, object: &str) -> String {
        format!("{}.obj.{}", self.prefix, token(object))
    }

    /// Publishes a frame on `object` and waits for JetStream to have stored it: the
    /// answer's `seq` is the object's sequence number for it.
    pub async fn publish(&self, object: &str, out: &Outgoing) -> Result<Published, BrokerError> {
        self.send(object, out).await?.await
    }

    /// Sends a frame on `object` and returns, once it is on its way, the wait for
    /// JetStream's answer. Frames sent one after another on one connection are stored in
    /// that order, so a caller that sends in order and awaits the answers later keeps its
    /// order without a round trip per frame.
    pub async fn send(
        &self,
        object: &str,
        out: &Outgoing,
    ) -> Result<
        impl std::future::Future<Output = Result<Published, BrokerError>> + Send + 'static,
        BrokerError,
    > {
        let payload = encode(out);
        if payload.len() > self.max_payload {
            return Err(BrokerError::TooLarge {
                bytes: payload.len(),
                max: self.max_payload,
            });
        }
        if !self.connected() {
            // Not queued for later: the caller refuses it now, and it is never stored
            // behind the caller's back.
            return Err(BrokerError::Unavailable(format!(
                "{}: not connected to NATS",
                self.url
            )));
        }
        let mut headers = async_nats::HeaderMap::new();
        if let Some(id) = &out.id {
            headers.insert(
                "Nats-Msg-Id",
                format!("{}.{}.{}", token(object), token(&out.sender), token(id)).as_str(),
            );
        }
        let url = self.url.clone();
        let ack = self
            .js
            .publish_with_headers(self.subject(object), headers, payload)
            .await
            .map_err(|e| BrokerError::Unavailable(format!("{url}: {e}")))?;
        Ok(async move {
            let ack = ack
                .await
                .map_err(|e| BrokerError::Unavailable(format!("{url}: {e}")))?;
            Ok(Published {
                seq: ack.sequence,
                duplicate: ack.duplicate,
            })
        })
    }

    /// Every frame of `object` after `after`, in order, then the live ones as they come.
    pub async fn subscribe(
        &self,
        object: &str,
        after: u64,
    ) -> Result<impl Stream<Item = Result<Delivered, BrokerError>> + Send + 'static, BrokerError>
    {
        let stream = self
            .js
            .get_stream_no_info(&self.stream)
            .await
            .map_err(failed)?;
        let deliver_policy = if after == 0 {
            consumer::DeliverPolicy::All
        } else {
            consumer::DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            }
        };
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: self.subject(object),
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(failed)?;
        let messages = consumer.messages().await.map_err(failed)?;
        let prefix = self.prefix.clone();
        Ok(messages.map(move |m| {
            let m = m.map_err(failed)?;
            delivered(&prefix, &m)
        }))
    }

    /// The sequence number of `object`'s last frame in the stream (0: none).
    pub async fn last_seq(&self, object: &str) -> Result<u64, BrokerError> {
        let stream = self
            .js
            .get_stream_no_info(&self.stream)
            .await
            .map_err(failed)?;
        match stream
            .get_last_raw_message_by_subject(&self.subject(object))
            .await
        {
            Ok(m) => Ok(m.sequence),
            Err(e)
                if e.kind()
                    == async_nats::jetstream::stream::LastRawMessageErrorKind::NoMessageFound =>
            {
                Ok(0)
            }
            Err(e) => Err(failed(e)),
        }
    }

    /// The frames of `object` after `after` up to what the stream has now, at most `limit`.
    pub async fn read(
        &self,
        object: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Delivered>, BrokerError> {
        let last = self.last_seq(object).await?;
        let mut out = Vec::new();
        if last <= after || limit == 0 {
            return Ok(out);
        }
        let mut frames = Box::pin(self.subscribe(object, after).await?);
        while let Ok(Some(frame)) =
            tokio::time::timeout(Duration::from_secs(5), frames.next()).await
        {
            let frame = frame?;
            let seq = frame.seq;
            out.push(frame);
            if seq >= last || out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// The cluster's shared durable consumer of every object's frames, through which the
    /// nodes together copy the stream into the store's message log (each frame goes to one
    /// node; one not acknowledged within `ack_wait` goes to another).
    pub async fn archive(&self, ack_wait: Duration) -> Result<Archive, BrokerError> {
        let stream = self
            .js
            .get_stream_no_info(&self.stream)
            .await
            .map_err(failed)?;
        let name = format!("{}_archive", self.prefix);
        let consumer = stream
            .get_or_create_consumer(
                &name,
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: format!("{}.obj.>", self.prefix),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait,
                    max_ack_pending: 20_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(failed)?;
        Ok(Archive {
            consumer,
            prefix: self.prefix.clone(),
        })
    }

    /// Deletes the stream and the buckets of this prefix (tests clean up with it).
    pub async fn destroy(&self) -> Result<(), BrokerError> {
        let _ = self.js.delete_stream(&self.stream).await;
        for bucket in presence::buckets(&self.prefix) {
            let _ = self.js.delete_key_value(&bucket).await;
        }
        Ok(())
    }
}

/// The nodes' shared copy of the stream into the store (see [`Broker::archive`]).
pub struct Archive {
    consumer: consumer::Consumer<consumer::pull::Config>,
    prefix: String,
}

/// A frame to archive; [`ToArchive::ack`] once it is durable elsewhere.
pub struct ToArchive {
    pub frame: Delivered,
    message: jetstream::Message,
}

impl ToArchive {
    /// The frame is stored: JetStream will not hand it out again.
    pub async fn ack(&self) -> Result<(), BrokerError> {
        self.message.ack().await.map_err(failed)
    }

    /// The frame could not be stored: JetStream hands it out again after `delay`.
    pub async fn retry(&self, delay: Duration) -> Result<(), BrokerError> {
        self.message
            .ack_with(jetstream::AckKind::Nak(Some(delay)))
            .await
            .map_err(failed)
    }
}

impl Archive {
    /// Up to `max` frames not yet archived, waiting at most `wait` for the first.
    pub async fn fetch(&self, max: usize, wait: Duration) -> Result<Vec<ToArchive>, BrokerError> {
        let mut batch = self
            .consumer
            .fetch()
            .max_messages(max)
            .expires(wait)
            .messages()
            .await
            .map_err(failed)?;
        let mut out = Vec::new();
        while let Some(m) = batch.next().await {
            let message = m.map_err(failed)?;
            match delivered(&self.prefix, &message) {
                Ok(frame) => out.push(ToArchive { frame, message }),
                Err(e) => {
                    // Not a frame of ours: never archivable, so never asked for again.
                    tracing::warn!("archive skips a message: {e}");
                    let _ = message.ack().await;
                }
            }
        }
        Ok(out)
    }

    /// Every frame at or below this stream sequence is archived.
    pub async fn floor(&mut self) -> Result<u64, BrokerError> {
        let info = self.consumer.info().await.map_err(failed)?;
        Ok(info.ack_floor.stream_sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_safe_ids_and_hex_the_rest() {
        assert_eq!(token("demo-chat_1"), "demo-chat_1");
        assert_eq!(token("a.b"), "=612e62");
        for s in ["a.b", "山田", "x y>*", "demo"] {
            assert_eq!(untoken(&token(s)).as_deref(), Some(s));
        }
    }

    #[test]
    fn the_envelope_keeps_the_message_bytes_as_given() {
        let out = Outgoing {
            sender: "dev-山田".into(),
            to: Some("b".into()),
            kind: Kind::Message,
            message: Bytes::from_static(b"{\"z\":1,\n \"a\":2}"),
            id: None,
        };
        let d = decode("o".into(), 9, 5, &encode(&out)).unwrap();
        assert_eq!(d.message, out.message);
        assert_eq!(
            (d.seq, d.sender.as_str(), d.to.as_deref()),
            (9, "dev-山田", Some("b"))
        );
    }
}
