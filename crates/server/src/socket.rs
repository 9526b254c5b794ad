//! One WebSocket connection: authentication, the read/write loop, rate limiting, and the
//! dispatch of client frames to rooms.
//!
//! A single task per connection both reads and writes (less memory than a task per
//! direction): queued frames are fed to the socket in batches and flushed once, so a
//! busy connection costs one write per batch, not per frame.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use meetbridge_protocol::bridge::{
    Ack, ClientFrame, ErrorCode, ErrorFrame, HistoryFrame, Identity, Limits, Missed, PingFrame,
    PluginFrame, PresenceFrame, ServerFrame, Welcome,
};
use meetbridge_protocol::limits::{MAX_DATA_BYTES, MAX_MESSAGE_BYTES};
use meetbridge_protocol::ovice::{
    DataDocument, PlatformToPlugin, PluginToPlatform, RelayedMessage, SavedSuccess,
};
use meetbridge_protocol::Parsed;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use crate::dedup::Answer;
use crate::hub::Hub;
use crate::outbox::Outbox;
use crate::relay::{BeginSave, Refusal};
use crate::room::Room;
use crate::store::SavedDoc;
use crate::token::{now_secs, Claims};

/// Frames written per flush at most.
const WRITE_BATCH: usize = 256;
/// A client that does not take a batch within this time is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most frames `history` returns at once.
const MAX_HISTORY_LIMIT: u32 = 1000;
/// Refused frames in a row after which a flooding connection is closed.
const MAX_REFUSED_IN_A_ROW: u32 = 1000;

/// Close code for "policy violation": bad token, flood.
const CLOSE_POLICY: u16 = 1008;
/// Close code for "try again later": too slow to take its frames.
const CLOSE_TRY_AGAIN: u16 = 1013;
/// Close code for "going away": the server stops.
const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code sent after an `unauthorized` error (4000-4999 are the application's).
pub const CLOSE_UNAUTHORIZED: u16 = 4401;

/// Token bucket of one connection's incoming frames.
struct RateLimit {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
    refused_in_a_row: u32,
}

impl RateLimit {
    fn new(rate: u32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimit {
            tokens: burst,
            last: Instant::now(),
            rate: f64::from(rate),
            burst,
            refused_in_a_row: 0,
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused_in_a_row = 0;
            true
        } else {
            self.refused_in_a_row += 1;
            false
        }
    }
}

/// What the connection is and where it is present.
struct Session {
    hub: Arc<Hub>,
    out: Outbox,
    user: Arc<str>,
    identity: Arc<Identity>,
    space: Option<String>,
    present: Vec<Arc<Room>>,
}

/// The `req` and `object` of a frame that could not be read as a whole, best effort.
#[derive(Deserialize, Default)]
struct Head {
    #[serde(default)]
    req: Option<u64>,
    #[serde(default)]
    object: Option<String>,
}

fn head(text: &str) -> Head {
    serde_json::from_str(text).unwrap_or_default()
}

pub fn limits(hub: &Hub) -> Limits {
    Limits {
        max_message_bytes: MAX_MESSAGE_BYTES as u32,
        max_data_bytes: MAX_DATA_BYTES as u32,
        max_frames_per_second: hub.limits.max_frames_per_second,
    }
}

/// Tells an unauthenticated client why, then closes.
pub async fn refuse(mut socket: WebSocket, why: String) {
    let frame = ServerFrame::Error(ErrorFrame {
        req: None,
        object: None,
        code: ErrorCode::Unauthorized,
        message: why,
        field: None,
    });
    let _ = socket.send(Message::Text(frame.to_text().into())).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: CLOSE_UNAUTHORIZED,
            reason: Utf8Bytes::from_static("unauthorized"),
        })))
        .await;
}

/// Serves one authenticated connection until it closes.
pub async fn run(
    mut socket: WebSocket,
    hub: Arc<Hub>,
    claims: Claims,
    mut shutdown: watch::Receiver<bool>,
) {
    let metrics = hub.metrics.clone();
    metrics
        .connections_total
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    metrics
        .connections_open
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (out, mut rx) = Outbox::new(hub.next_conn_id(), hub.limits.send_queue, metrics.clone());
    let mut rate = RateLimit::new(hub.limits.max_frames_per_second, hub.limits.rate_burst);
    let mut session = Session {
        user: claims.user.id.as_source().into(),
        identity: Arc::new(claims.user),
        space: claims.space,
        present: Vec::new(),
        out: out.clone(),
        hub,
    };
    out.send(&ServerFrame::Welcome(Welcome {
        participant: (*session.identity).clone(),
        limits: limits(&session.hub),
    }));
    tracing::debug!(conn = out.id(), user = %session.user, "connected");

    let coalesce = Duration::from_millis(session.hub.limits.coalesce_ms);
    let mut last_write: Option<tokio::time::Instant> = None;
    // A frame held back while a busy connection's coalescing window runs; reading goes on.
    let mut held: Option<Message> = None;
    let mut due = tokio::time::Instant::now();
    let close = loop {
        if out.too_slow() {
            break Some((CLOSE_TRY_AGAIN, "too slow: send queue full"));
        }
        tokio::select! {
            _ = shutdown.changed() => break Some((CLOSE_GOING_AWAY, "server stopping")),
            queued = rx.recv(), if held.is_none() => {
                let Some(first) = queued else { break None };
                // Busy connection: let more frames gather, one write for all of them.
                let now = tokio::time::Instant::now();
                if let Some(next) = last_write.map(|t| t + coalesce) {
                    if coalesce > Duration::ZERO && now < next {
                        held = Some(first);
                        due = next;
                        continue;
                    }
                }
                if let Err(close) = write_out(&mut socket, first, &mut rx, &out).await {
                    break close;
                }
                last_write = Some(tokio::time::Instant::now());
            }
            _ = tokio::time::sleep_until(due), if held.is_some() => {
                let Some(first) = held.take() else { continue };
                if let Err(close) = write_out(&mut socket, first, &mut rx, &out).await {
                    break close;
                }
                last_write = Some(tokio::time::Instant::now());
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    metrics.frames_in.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if !rate.allow() {
                        if rate.refused_in_a_row > MAX_REFUSED_IN_A_ROW {
                            break Some((CLOSE_POLICY, "flood"));
                        }
                        let h = head(&text);
                        session.error(h.req, h.object, Refusal::new(
                            ErrorCode::RateLimited,
                            format!("more than {} frames per second on this connection; frame dropped", session.hub.limits.max_frames_per_second),
                        ), None);
                        continue;
                    }
                    session.on_text(&text);
                }
                Some(Ok(Message::Binary(_))) => {
                    metrics.frames_in.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if !rate.allow() && rate.refused_in_a_row > MAX_REFUSED_IN_A_ROW {
                        break Some((CLOSE_POLICY, "flood"));
                    }
                    session.error(None, None, Refusal::new(ErrorCode::BadFrame, "binary frames are not used; send JSON text frames"), None);
                }
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(conn = out.id(), error = %e, "socket error");
                    break None;
                }
            },
        }
    };
    if let Some((code, reason)) = close {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            // What was queued (the errors that explain a flood, say) goes first, unless
            // the connection is being closed for being too slow to take it.
            if code != CLOSE_TRY_AGAIN {
                rx.close();
                if let Some(first) = held.take().or_else(|| rx.try_recv().ok()) {
                    let _ = write_batch(&mut socket, first, &mut rx).await;
                    while let Ok(next) = rx.try_recv() {
                        if write_batch(&mut socket, next, &mut rx).await.is_err() {
                            break;
                        }
                    }
                }
            }
            socket
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                })))
                .await
        })
        .await;
    }
    for room in std::mem::take(&mut session.present) {
        room.remove_conn(&session.user, out.id());
    }
    metrics
        .connections_open
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(conn = out.id(), user = %session.user, ?close, "disconnected");
}

type Close = Option<(u16, &'static str)>;

/// Sends an answer to a request: the reply frame if there is one, then the `ack`.
fn answer_to(out: &Outbox, req: Option<u64>, answer: &Answer) {
    if let Some(reply) = &answer.reply {
        out.send_text(reply.clone());
    }
    if let Some(req) = req {
        out.send(&ServerFrame::Ack(Ack::new(req, answer.seq)));
    }
}

/// Writes `first` and what else is queued, within [`WRITE_TIMEOUT`], giving up at once if
/// the connection is marked too slow meanwhile.
async fn write_out(
    socket: &mut WebSocket,
    first: Message,
    rx: &mut mpsc::Receiver<Message>,
    out: &Outbox,
) -> Result<(), Close> {
    let write = tokio::time::timeout(WRITE_TIMEOUT, write_batch(socket, first, rx));
    tokio::select! {
        written = write => match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(None),
            Err(_) => Err(Some((CLOSE_TRY_AGAIN, "too slow: write timed out"))),
        },
        _ = out.slowed() => Err(Some((CLOSE_TRY_AGAIN, "too slow: send queue full"))),
    }
}

async fn write_batch(
    socket: &mut WebSocket,
    first: Message,
    rx: &mut mpsc::Receiver<Message>,
) -> Result<(), axum::Error> {
    socket.feed(first).await?;
    for _ in 1..WRITE_BATCH {
        match rx.try_recv() {
            Ok(next) => socket.feed(next).await?,
            Err(_) => break,
        }
    }
    socket.flush().await
}

impl Session {
    fn error(
        &self,
        req: Option<u64>,
        object: Option<String>,
        refusal: Refusal,
        field: Option<String>,
    ) {
        self.hub.metrics.error(refusal.code);
        self.out.send(&ServerFrame::Error(ErrorFrame {
            req,
            object,
            code: refusal.code,
            message: refusal.message,
            field,
        }));
    }

    fn ack(&self, req: Option<u64>, seq: Option<u64>) {
        if let Some(req) = req {
            self.out.send(&ServerFrame::Ack(Ack::new(req, seq)));
        }
    }

    fn on_text(&mut self, text: &str) {
        match ClientFrame::parse(text) {
            Parsed::Message(frame) => {
                let req = frame.req();
                let object = match &frame {
                    ClientFrame::Presence(f) => Some(f.object.clone()),
                    ClientFrame::Plugin(f) => Some(f.object.clone()),
                    ClientFrame::History(f) => Some(f.object.clone()),
                    ClientFrame::Ping(_) => None,
                };
                if let Err(refusal) = self.dispatch(frame) {
                    self.error(req, object, refusal, None);
                }
            }
            Parsed::Ignored(ignored) => {
                let h = head(text);
                self.error(
                    h.req,
                    h.object,
                    Refusal::new(
                        ErrorCode::BadFrame,
                        format!("not a meetbridge frame: {}", ignored.reason),
                    ),
                    None,
                );
            }
            Parsed::Invalid(invalid) => {
                let h = head(text);
                let in_message =
                    invalid.field == "message" || invalid.field.starts_with("message.");
                let code = if in_message || invalid.is_over_limit() {
                    ErrorCode::for_invalid(&invalid)
                } else {
                    ErrorCode::BadFrame
                };
                self.error(
                    h.req,
                    h.object,
                    Refusal::new(code, invalid.to_string()),
                    Some(invalid.field),
                );
            }
        }
    }

    fn dispatch(&mut self, frame: ClientFrame) -> Result<(), Refusal> {
        match frame {
            ClientFrame::Ping(PingFrame { req }) => {
                self.out.send(&ServerFrame::Pong(PingFrame { req }));
                Ok(())
            }
            ClientFrame::Presence(f) => self.presence(f),
            ClientFrame::Plugin(f) => self.plugin(f),
            ClientFrame::History(f) => self.history(f),
        }
    }

    /// The object, if it exists and this token may open it.
    fn room(&self, object: &str) -> Result<Arc<Room>, Refusal> {
        let unknown = || Refusal::new(ErrorCode::UnknownObject, format!("no object `{object}`"));
        let room = self.hub.room(object).ok_or_else(unknown)?;
        if self
            .space
            .as_deref()
            .is_some_and(|s| s != room.def.space_id)
        {
            return Err(unknown());
        }
        Ok(room)
    }

    fn present_room(&self, object: &str) -> Result<Arc<Room>, Refusal> {
        let room = self.room(object)?;
        if !room.is_present(&self.user, self.out.id()) {
            return Err(Refusal::not_member(object));
        }
        Ok(room)
    }

    fn presence(&mut self, f: PresenceFrame) -> Result<(), Refusal> {
        let room = self.room(&f.object)?;
        let present = room.presence(&self.out, &self.user, &self.identity, f.status, f.since);
        let known = self.present.iter().position(|r| Arc::ptr_eq(r, &room));
        match (present, known) {
            (true, None) => self.present.push(room),
            (false, Some(i)) => {
                self.present.swap_remove(i);
            }
            _ => {}
        }
        self.ack(f.req, None);
        Ok(())
    }

    fn history(&mut self, f: HistoryFrame) -> Result<(), Refusal> {
        let room = self.present_room(&f.object)?;
        let limit = f.limit.unwrap_or(MAX_HISTORY_LIMIT).min(MAX_HISTORY_LIMIT) as usize;
        if f.is_backward() {
            let before = f.before.unwrap_or(u64::MAX);
            let page =
                room.lock()
                    .history
                    .page_back(f.since.unwrap_or(0), before, &self.user, limit);
            for frame in page.frames {
                self.out.send_text(frame);
            }
            if let Some(req) = f.req {
                self.out.send(&ServerFrame::Ack(Ack {
                    req,
                    seq: Some(page.upto),
                    from: Some(page.from),
                    start: page.start,
                }));
            }
            return Ok(());
        }
        // What this user may see: addressed to them, or sent by them.
        let replay = room
            .lock()
            .history
            .replay(f.since.unwrap_or(0), &self.user, limit, true);
        // Without `since` the client asked for whatever is kept: nothing is "missed".
        if let (Some(_), Some((from, to))) = (f.since, replay.missed) {
            self.out.send(&ServerFrame::Missed(Missed {
                object: f.object.clone(),
                from,
                to,
            }));
        }
        for frame in replay.frames {
            self.out.send_text(frame);
        }
        self.ack(f.req, Some(replay.upto));
        Ok(())
    }

    fn plugin(&mut self, f: PluginFrame) -> Result<(), Refusal> {
        let room = self.room(&f.object)?;
        match f.message {
            PluginToPlatform::GetParticipants => {
                if !room.is_present(&self.user, self.out.id()) {
                    return Err(Refusal::not_member(&f.object));
                }
                let list = room.participants(&self.user);
                self.out
                    .send_text(room.plugin_frame(None, PlatformToPlugin::Participants(list)));
                self.ack(f.req, None);
            }
            PluginToPlatform::BroadcastMessage(m) | PluginToPlatform::EmitMessage(m)
                if m.source.as_deref().is_some_and(|s| s != &*self.user) =>
            {
                return Err(Refusal::new(
                    ErrorCode::SpoofedSource,
                    format!("`source` must be your own id ({}) or absent", self.user),
                ));
            }
            PluginToPlatform::BroadcastMessage(m) | PluginToPlatform::EmitMessage(m)
                if m.object_id.as_deref().is_some_and(|o| o != f.object) =>
            {
                return Err(Refusal::new(
                    ErrorCode::SpoofedSource,
                    format!("`objectId` must be this object ({}) or absent", f.object),
                ));
            }
            PluginToPlatform::BroadcastMessage(m) => {
                let id = f.id.as_deref();
                if let Some(answer) = self.relay(&room, None, id, f.req, m.event, m.message)? {
                    answer_to(&self.out, f.req, &answer);
                }
            }
            PluginToPlatform::EmitMessage(m) => {
                let to = m.to.unwrap_or_default();
                let id = f.id.as_deref();
                if let Some(answer) = self.relay(&room, Some(to), id, f.req, m.event, m.message)? {
                    answer_to(&self.out, f.req, &answer);
                }
            }
            PluginToPlatform::GetData => self.get_data(room, f.req)?,
            PluginToPlatform::SaveAndEmitData(doc) => self.save(room, f.req, f.id, doc)?,
            // The host runtime answers the legacy handshake itself.
            PluginToPlatform::Ready | PluginToPlatform::ReadyConfirmed => self.ack(f.req, None),
            // The host runtime turns it into a `history` frame; one sent raw is answered alike.
            PluginToPlatform::GetHistory(h) => self.history(HistoryFrame {
                req: f.req,
                object: f.object,
                since: h.since,
                limit: h.limit,
                before: h.before,
                backward: h.backward,
            })?,
        }
        Ok(())
    }

    fn relay(
        &self,
        room: &Room,
        to: Option<String>,
        id: Option<&str>,
        req: Option<u64>,
        event: String,
        message: serde_json::Value,
    ) -> Result<Option<Answer>, Refusal> {
        // Encoded once, outside the room lock, for every recipient.
        let relayed = PlatformToPlugin::Message(RelayedMessage {
            source: self.user.to_string(),
            event,
            object_id: room.def.id.clone(),
            message,
            to: to.clone(),
        });
        let json = serde_json::to_string(&relayed)
            .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
        room.relay(&self.out, &self.user, to.as_deref(), id, req, &json)
    }

    fn get_data(&self, room: Arc<Room>, req: Option<u64>) -> Result<(), Refusal> {
        if !room.is_present(&self.user, self.out.id()) {
            return Err(Refusal::not_member(&room.def.id));
        }
        let reply = move |room: &Room, out: &Outbox, doc: &DataDocument| {
            out.send_text(room.plugin_frame(None, PlatformToPlugin::SavedData(doc.clone())));
            if let Some(req) = req {
                out.send(&ServerFrame::Ack(Ack::new(req, None)));
            }
        };
        if let Some(doc) = room.cached_data() {
            reply(&room, &self.out, &doc);
            return Ok(());
        }
        // First read of this object since start: load it off the async threads.
        let store = self.hub.store.clone();
        let out = self.out.clone();
        let metrics = self.hub.metrics.clone();
        tokio::spawn(async move {
            let id = room.def.id.clone();
            let loaded = tokio::task::spawn_blocking(move || store.load_data(&id)).await;
            let doc = match loaded {
                Ok(Ok(Some(saved))) => {
                    serde_json::from_str::<DataDocument>(&saved.json).map_err(|e| e.to_string())
                }
                Ok(Ok(None)) => Ok(DataDocument::new()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match doc {
                Ok(doc) => {
                    let doc = room.fill_data(doc);
                    reply(&room, &out, &doc);
                }
                Err(e) => {
                    tracing::error!(object = %room.def.id, error = %e, "loading saved data failed");
                    metrics.error(ErrorCode::Internal);
                    out.send(&ServerFrame::Error(ErrorFrame {
                        req,
                        object: Some(room.def.id.clone()),
                        code: ErrorCode::Internal,
                        message: "could not load the saved data; retry".into(),
                        field: None,
                    }));
                }
            }
        });
        Ok(())
    }

    fn save(
        &self,
        room: Arc<Room>,
        req: Option<u64>,
        message_id: Option<String>,
        doc: DataDocument,
    ) -> Result<(), Refusal> {
        let version = match room.begin_save(&self.out, &self.user, message_id.as_deref(), req)? {
            BeginSave::Save(version) => version,
            // Saved already under this id: the same success reply, no second save.
            BeginSave::Duplicate(answer) => {
                answer_to(&self.out, req, &answer);
                return Ok(());
            }
            // Being saved under this id: answered by that save's commit.
            BeginSave::Waiting => return Ok(()),
        };
        let updated_at = now_secs();
        let json = match serde_json::to_string(&doc) {
            Ok(json) => json,
            Err(e) => {
                if let Some(message_id) = &message_id {
                    room.fail_save(&self.user, message_id);
                }
                return Err(Refusal::new(ErrorCode::Internal, e.to_string()));
            }
        };
        let doc = Arc::new(doc);
        let out = self.out.clone();
        let user = self.user.clone();
        let metrics = self.hub.metrics.clone();
        let id = room.def.id.clone();
        // Runs on the store's writer thread, in submission order, after the commit.
        let done = Box::new(move |result: crate::store::StoreResult<()>| match result {
            Ok(()) => {
                let success = PlatformToPlugin::DataSavedSuccess(SavedSuccess {
                    updated_at: Some(updated_at),
                    data: (*doc).clone(),
                });
                let reply = room.plugin_frame(None, success);
                let remembered = message_id.as_deref().map(|m| (m, reply.clone()));
                let waiters = room.finish_save(version, &user, doc.clone(), remembered);
                out.send_text(reply.clone());
                if let Some(req) = req {
                    out.send(&ServerFrame::Ack(Ack::new(req, None)));
                }
                let answer = Answer {
                    reply: Some(reply),
                    seq: None,
                };
                for (waiter, req) in waiters {
                    answer_to(&waiter, req, &answer);
                }
                metrics
                    .saves
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(object = %room.def.id, error = %e, "save failed");
                let mut told = vec![(out.clone(), req)];
                if let Some(message_id) = &message_id {
                    told.extend(room.fail_save(&user, message_id));
                }
                for (out, req) in told {
                    metrics.error(ErrorCode::Internal);
                    out.send(&ServerFrame::Error(ErrorFrame {
                        req,
                        object: Some(room.def.id.clone()),
                        code: ErrorCode::Internal,
                        message: "the data could not be saved; retry".into(),
                        field: None,
                    }));
                }
            }
        });
        self.hub
            .store
            .save_data(&id, SavedDoc { json, updated_at }, done);
        Ok(())
    }
}
