//! The host runtime's logic, free of the browser: a state machine fed with what plugins
//! post, what the server sends and what the page asks for, answering with [`Effect`]s that
//! the wasm glue (`lib.rs`) carries out. Everything here runs (and is tested) natively.

use std::collections::{BTreeMap, VecDeque};

use meetbridge_protocol::bridge::{
    Ack, ClientFrame, ErrorCode, ErrorFrame, HistoryFrame, Identity, Missed, PluginFrame,
    PresenceFrame, ServerFrame, ServerPluginFrame, Welcome,
};
use meetbridge_protocol::ovice::{
    HistoryEntry, HistoryPage, PlatformToPlugin, PluginError, PluginToPlatform, PresenceStatus,
};
use meetbridge_protocol::Parsed;
use serde::Serialize;
use serde_json::Value;

/// What the glue must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send this text frame on the socket (only produced while the socket is up).
    Send(String),
    /// Post this message into the object's plugin iframe.
    ToPlugin {
        object: String,
        message: PlatformToPlugin,
    },
    /// `console.warn` this.
    Warn(String),
    /// Tell the page (its `onEvent` callback).
    Event(HostEvent),
    /// Settle the promise of a `setPresence` call.
    PresenceDone {
        req: u64,
        result: Result<(), ErrorFrame>,
    },
}

/// What the page hears about, through `onEvent`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum HostEvent {
    /// The socket's state. `retryInMs` is set when a reconnect is scheduled.
    #[serde(rename_all = "camelCase")]
    State {
        state: ConnState,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_in_ms: Option<u32>,
    },
    /// The server's welcome: who this user is.
    Welcome(Welcome),
    /// A message the server sent for an object (also delivered to its plugin, if open).
    Plugin(ServerPluginFrame),
    /// Something an object's plugin sent was refused (by the host or the server).
    #[serde(rename_all = "camelCase")]
    Refused {
        object: String,
        code: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        refused: Option<String>,
    },
    /// Messages past the server's history window could not be replayed.
    Missed(Missed),
    /// A server error about no object in particular.
    Error(ErrorFrame),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnState {
    Connecting,
    Open,
    Closed,
}

/// Where the legacy handshake (`ovice_ready` → `ovice_confirmation` → `ovice_ready_confirmed`) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handshake {
    #[default]
    None,
    Confirmed,
    Done,
}

#[derive(Debug, Clone, Default)]
struct ObjectState {
    /// The presence the page asked for; re-established after every reconnect.
    status: Option<PresenceStatus>,
    /// Highest sequence number received for this object: resumes with `since`.
    max_seq: u64,
    /// The origin the plugin must post from (`None`: an opaque origin, `"null"`).
    expected_origin: Option<String>,
    /// Whether an iframe is attached (messages for a closed object only reach the page).
    open: bool,
    handshake: Handshake,
}

#[derive(Debug, Clone, PartialEq)]
struct Outgoing {
    req: u64,
    object: String,
    /// The message id (`plugin` frame `id`) of a broadcast, emit or save: kept when the
    /// message is sent again after a reconnect, so the server answers a resend whose first
    /// copy got through instead of acting on it twice.
    id: Option<String>,
    message: PluginToPlatform,
}

/// A plugin's `meetbridge_get_history` on its way: the server answers a `history` frame
/// with the object's frames, then an `ack` whose `seq` says how far the answer goes. Until
/// then every sequenced frame of the object is held here, so that old messages reach the
/// plugin in the `meetbridge_history` reply and not as if they were new.
#[derive(Debug, Clone, PartialEq)]
struct HistoryCollect {
    object: String,
    limit: Option<u32>,
    /// A backward page (`before` / `backward`): `more` does not apply, `from` does.
    backward: bool,
    held: Vec<ServerPluginFrame>,
    missed: Option<(u64, u64)>,
}

/// The host runtime's state for one page connection.
#[derive(Debug, Default)]
pub struct Core {
    identity: Option<Identity>,
    welcomed: bool,
    objects: BTreeMap<String, ObjectState>,
    next_req: u64,
    /// Plugin messages waiting for the socket, in the order the plugins sent them.
    queue: VecDeque<Outgoing>,
    /// Plugin messages sent and not yet acknowledged: sent again after a reconnect.
    unacked: BTreeMap<u64, Outgoing>,
    /// `setPresence` requests waiting for their ack.
    presence_reqs: BTreeMap<u64, String>,
    /// Consecutive failed connection attempts, for the backoff.
    attempts: u32,
    /// `meetbridge_get_history` requests waiting for their ack, by request id.
    history: BTreeMap<u64, HistoryCollect>,
    /// Prefix of this page's message ids (random per page, see [`Core::with_id_prefix`]).
    id_prefix: String,
    /// Message ids handed out so far.
    next_id: u64,
}

/// The reconnect delay after `attempts` failures: 250 ms doubling up to 10 s, with up to
/// 25 % of jitter (`random` in `[0, 1)`), so a restarted server is not hit all at once.
pub fn backoff_ms(attempts: u32, random: f64) -> u32 {
    let base = 250u32.saturating_mul(1u32 << attempts.min(6)).min(10_000);
    let jitter = (f64::from(base) * 0.25 * random.clamp(0.0, 1.0)) as u32;
    base + jitter
}

/// The sandbox every plugin iframe gets unless the page says otherwise.
pub const DEFAULT_SANDBOX: &str = "allow-scripts allow-same-origin allow-forms allow-popups";

/// How an object's iframe is sandboxed and which origin its messages must come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramePolicy {
    /// The `sandbox` attribute, `None` for no attribute at all.
    pub sandbox: Option<String>,
    /// The plugin's origin when it is known; `None` when the frame's origin is opaque.
    pub origin: Option<String>,
    /// A warning for the console, when the policy had to tighten or looks unsafe.
    pub warning: Option<String>,
}

/// Decides the sandbox and the expected origin of a plugin iframe.
///
/// `requested`: `None` = the default, `Some(None)` = no sandbox attribute, `Some(Some(s))`
/// = exactly `s`. A plugin on the page's own origin that had both `allow-scripts` and
/// `allow-same-origin` could reach into the page (and its token) and remove its own
/// sandbox, so the *default* drops `allow-same-origin` for such a plugin: it then runs on
/// an opaque origin. An explicit choice is honoured, with a warning.
pub fn frame_policy(
    requested: Option<Option<&str>>,
    plugin_origin: &str,
    page_origin: &str,
) -> FramePolicy {
    let same_origin = plugin_origin == page_origin && plugin_origin != "null";
    let (sandbox, mut warning) = match requested {
        None if same_origin => (
            Some(
                DEFAULT_SANDBOX
                    .split_whitespace()
                    .filter(|t| *t != "allow-same-origin")
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            None,
        ),
        None => (Some(DEFAULT_SANDBOX.to_owned()), None),
        Some(s) => (s.map(str::to_owned), None),
    };
    let tokens: Vec<&str> = sandbox
        .as_deref()
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    let shares_origin = sandbox.is_none() || tokens.contains(&"allow-same-origin");
    let scripts = sandbox.is_none() || tokens.contains(&"allow-scripts");
    if requested.is_some() && same_origin && shares_origin && scripts {
        warning = Some(format!(
            "plugin {plugin_origin} shares the page's origin and may run scripts with it: it can reach the page; serve it from another origin or drop allow-same-origin"
        ));
    }
    let origin = (shares_origin && plugin_origin != "null").then(|| plugin_origin.to_owned());
    FramePolicy {
        sandbox,
        origin,
        warning,
    }
}

fn error_message(
    code: &str,
    message: impl Into<String>,
    refused: Option<&str>,
) -> PlatformToPlugin {
    PlatformToPlugin::Error(PluginError {
        code: code.to_owned(),
        message: message.into(),
        refused: refused.map(str::to_owned),
    })
}

fn frame_text(frame: &ClientFrame) -> String {
    // Every client frame is plain data; encoding cannot fail.
    serde_json::to_string(frame).unwrap_or_default()
}

impl Core {
    pub fn new() -> Self {
        Self::default()
    }

    /// A core whose message ids are `<prefix>-<counter>`. The server remembers ids per
    /// user, and a user may have several pages open: the prefix must be unique per page
    /// (the glue makes it random), so two pages never hand out the same id.
    pub fn with_id_prefix(prefix: impl Into<String>) -> Self {
        Core {
            id_prefix: prefix.into(),
            ..Self::default()
        }
    }

    /// A fresh message id.
    fn message_id(&mut self) -> String {
        self.next_id += 1;
        format!("{}-{}", self.id_prefix, self.next_id)
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    pub fn is_open(&self) -> bool {
        self.welcomed
    }

    /// The highest sequence number seen for an object.
    pub fn max_seq(&self, object: &str) -> u64 {
        self.objects.get(object).map_or(0, |o| o.max_seq)
    }

    /// Plugin messages waiting to be sent or acknowledged.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.unacked.len()
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    /// An iframe was attached for `object`, posting from `origin` (`None`: opaque).
    pub fn open_object(&mut self, object: &str, origin: Option<String>) {
        let state = self.objects.entry(object.to_owned()).or_default();
        state.expected_origin = origin;
        state.open = true;
        state.handshake = Handshake::None;
    }

    /// The object's iframe was removed. Its presence stays as the page set it.
    pub fn close_object(&mut self, object: &str) {
        if let Some(state) = self.objects.get_mut(object) {
            state.open = false;
        }
    }

    /// The origin `object`'s plugin must post from: `Some(None)` for opaque.
    pub fn expected_origin(&self, object: &str) -> Option<Option<&str>> {
        self.objects
            .get(object)
            .map(|o| o.expected_origin.as_deref())
    }

    pub fn handshake(&self, object: &str) -> Handshake {
        self.objects
            .get(object)
            .map(|o| o.handshake)
            .unwrap_or_default()
    }

    /// The page moves this user on `object`. Returns the request id the promise waits on.
    pub fn set_presence(&mut self, object: &str, status: PresenceStatus) -> (u64, Vec<Effect>) {
        let req = self.req();
        let state = self.objects.entry(object.to_owned()).or_default();
        state.status = Some(status);
        let since = (state.max_seq > 0).then_some(state.max_seq);
        self.presence_reqs.insert(req, object.to_owned());
        let mut effects = Vec::new();
        if self.welcomed {
            effects.push(Effect::Send(frame_text(&ClientFrame::Presence(
                PresenceFrame {
                    req: Some(req),
                    object: object.to_owned(),
                    status,
                    since,
                },
            ))));
        }
        (req, effects)
    }

    /// The socket is being opened.
    pub fn connecting(&mut self) -> Vec<Effect> {
        vec![Effect::Event(HostEvent::State {
            state: ConnState::Connecting,
            retry_in_ms: None,
        })]
    }

    /// The socket closed (or failed to open). Unacknowledged messages go back to the front
    /// of the queue, to be sent again once the server has welcomed the next connection.
    /// Returns the delay before the next attempt, given `random` in `[0, 1)`.
    pub fn closed(&mut self, random: f64, reconnect: bool) -> (Option<u32>, Vec<Effect>) {
        self.welcomed = false;
        // Held frames were not delivered and did not move `max_seq`: the resume replays
        // them; the history request itself is sent again with the unacknowledged messages.
        self.history.clear();
        let unacked = std::mem::take(&mut self.unacked);
        for (_, out) in unacked.into_iter().rev() {
            self.queue.push_front(out);
        }
        let delay = reconnect.then(|| backoff_ms(self.attempts, random));
        self.attempts = self.attempts.saturating_add(1);
        (
            delay,
            vec![Effect::Event(HostEvent::State {
                state: ConnState::Closed,
                retry_in_ms: delay,
            })],
        )
    }

    /// One text frame from the server.
    pub fn from_server(&mut self, text: &str) -> Vec<Effect> {
        // The server's frames go through the same parsers: a platform message that does not
        // follow seed 003 never reaches a plugin.
        let frame = match ServerFrame::parse(text) {
            Parsed::Message(frame) => frame,
            Parsed::Invalid(e) => {
                return vec![Effect::Warn(format!(
                    "meetbridge: ignored an invalid server frame: {e}"
                ))]
            }
            Parsed::Ignored(i) => {
                return vec![Effect::Warn(format!(
                    "meetbridge: ignored a server frame: {}",
                    i.reason
                ))]
            }
        };
        match frame {
            ServerFrame::Welcome(welcome) => self.welcome(welcome),
            ServerFrame::Ack(ack) => {
                self.unacked.remove(&ack.req);
                if let Some(collect) = self.history.remove(&ack.req) {
                    return self.history_done(collect, &ack);
                }
                match self.presence_reqs.remove(&ack.req) {
                    Some(_) => vec![Effect::PresenceDone {
                        req: ack.req,
                        result: Ok(()),
                    }],
                    None => Vec::new(),
                }
            }
            ServerFrame::Plugin(frame) => self.plugin_frame(frame),
            ServerFrame::Missed(missed) => {
                if let Some(collect) = self
                    .history
                    .values_mut()
                    .find(|c| c.object == missed.object)
                {
                    // Part of the history answer: the reply says what is lost.
                    collect.missed = Some((missed.from, missed.to));
                    return Vec::new();
                }
                let mut effects = Vec::new();
                if let Some(state) = self.objects.get_mut(&missed.object) {
                    state.max_seq = state.max_seq.max(missed.to);
                    if state.open {
                        effects.push(Effect::ToPlugin {
                            object: missed.object.clone(),
                            message: error_message(
                                "missed_messages",
                                format!(
                                    "messages {}..={} of this object were past the server's history window and are lost",
                                    missed.from, missed.to
                                ),
                                None,
                            ),
                        });
                    }
                }
                effects.push(Effect::Event(HostEvent::Missed(missed)));
                effects
            }
            ServerFrame::Error(error) => self.server_error(error),
            ServerFrame::Pong(_) => Vec::new(),
        }
    }

    fn welcome(&mut self, welcome: Welcome) -> Vec<Effect> {
        self.identity = Some(welcome.participant.clone());
        self.welcomed = true;
        self.attempts = 0;
        let mut effects = vec![
            Effect::Event(HostEvent::State {
                state: ConnState::Open,
                retry_in_ms: None,
            }),
            Effect::Event(HostEvent::Welcome(welcome)),
        ];
        // Presence first, so the server knows this user is a member before any message,
        // and with `since`, so it replays what the plugin missed while the socket was down.
        let presences: Vec<(String, PresenceStatus, u64)> = self
            .objects
            .iter()
            .filter_map(|(id, o)| match o.status {
                Some(PresenceStatus::Unsubscribed) | None => None,
                Some(status) => Some((id.clone(), status, o.max_seq)),
            })
            .collect();
        let waiting: Vec<(u64, String)> = self
            .presence_reqs
            .iter()
            .map(|(r, o)| (*r, o.clone()))
            .collect();
        for (req, object) in waiting {
            // A setPresence made while offline is settled by the resume below.
            let status = self.objects.get(&object).and_then(|o| o.status);
            if matches!(status, Some(PresenceStatus::Unsubscribed) | None) {
                self.presence_reqs.remove(&req);
                effects.push(Effect::PresenceDone {
                    req,
                    result: Ok(()),
                });
            }
        }
        for (object, status, max_seq) in presences {
            let req = self.req();
            // Waiting setPresence calls for this object settle with this request.
            let waiting: Vec<u64> = self
                .presence_reqs
                .iter()
                .filter(|(_, o)| **o == object)
                .map(|(r, _)| *r)
                .collect();
            for r in waiting {
                self.presence_reqs.remove(&r);
                effects.push(Effect::PresenceDone {
                    req: r,
                    result: Ok(()),
                });
            }
            effects.push(Effect::Send(frame_text(&ClientFrame::Presence(
                PresenceFrame {
                    req: Some(req),
                    object,
                    status,
                    since: (max_seq > 0).then_some(max_seq),
                },
            ))));
        }
        while let Some(out) = self.queue.pop_front() {
            effects.push(self.send_plugin(out));
        }
        effects
    }

    fn send_plugin(&mut self, out: Outgoing) -> Effect {
        let text = match &out.message {
            // The history extension: the server's `history` frame answers it.
            PluginToPlatform::GetHistory(h) => {
                self.history.insert(
                    out.req,
                    HistoryCollect {
                        object: out.object.clone(),
                        limit: h.limit,
                        backward: h.backward || h.before.is_some(),
                        held: Vec::new(),
                        missed: None,
                    },
                );
                frame_text(&ClientFrame::History(HistoryFrame {
                    req: Some(out.req),
                    object: out.object.clone(),
                    since: h.since,
                    limit: h.limit,
                    before: h.before,
                    backward: h.backward,
                }))
            }
            _ => frame_text(&ClientFrame::Plugin(PluginFrame {
                req: Some(out.req),
                object: out.object.clone(),
                id: out.id.clone(),
                message: out.message.clone(),
            })),
        };
        self.unacked.insert(out.req, out);
        Effect::Send(text)
    }

    /// The server answered a history request: frames up to `upto` are the reply (only
    /// `ovice_message`s, in order, once each); later ones were live and are delivered now.
    fn history_done(&mut self, collect: HistoryCollect, ack: &Ack) -> Vec<Effect> {
        let HistoryCollect {
            object,
            limit,
            backward,
            mut held,
            missed,
        } = collect;
        let upto = ack.seq;
        held.sort_by_key(|f| f.seq);
        let upto = upto.unwrap_or_else(|| held.iter().filter_map(|f| f.seq).max().unwrap_or(0));
        let (old, live): (Vec<_>, Vec<_>) = held
            .into_iter()
            .partition(|f| f.seq.is_some_and(|s| s <= upto));
        let mut entries: Vec<HistoryEntry> = Vec::new();
        for f in old {
            let seq = f.seq.unwrap_or_default();
            if let PlatformToPlugin::Message(m) = f.message {
                if entries.last().is_none_or(|e| e.seq != seq) {
                    entries.push(HistoryEntry { seq, message: m });
                }
            }
        }
        let more = !backward && limit.is_some_and(|l| entries.len() >= l as usize);
        let from = backward.then(|| ack.from.or(entries.first().map(|e| e.seq)).unwrap_or(upto));
        let state = self.objects.entry(object.clone()).or_default();
        // What the reply covers is delivered: a resume must not replay it as new.
        state.max_seq = state.max_seq.max(upto);
        let mut effects = Vec::new();
        if state.open {
            effects.push(Effect::ToPlugin {
                object: object.clone(),
                message: PlatformToPlugin::History(HistoryPage {
                    entries,
                    upto,
                    more,
                    from,
                    start: ack.start,
                    missed,
                }),
            });
        }
        for f in live {
            effects.extend(self.plugin_frame(f));
        }
        effects
    }

    fn plugin_frame(&mut self, frame: ServerPluginFrame) -> Vec<Effect> {
        if frame.seq.is_some() {
            if let Some(collect) = self.history.values_mut().find(|c| c.object == frame.object) {
                collect.held.push(frame);
                return Vec::new();
            }
        }
        let state = self.objects.entry(frame.object.clone()).or_default();
        if let Some(seq) = frame.seq {
            if seq <= state.max_seq {
                // Already delivered (a replay overlapping what arrived before the drop).
                return Vec::new();
            }
            state.max_seq = seq;
        }
        let mut effects = Vec::new();
        if state.open {
            effects.push(Effect::ToPlugin {
                object: frame.object.clone(),
                message: frame.message.clone(),
            });
        }
        effects.push(Effect::Event(HostEvent::Plugin(frame)));
        effects
    }

    fn server_error(&mut self, error: ErrorFrame) -> Vec<Effect> {
        let req = error.req;
        if let Some(req) = req {
            if let Some(collect) = self.history.remove(&req) {
                // Refused: what was held was live, and goes on as usual.
                let mut effects = Vec::new();
                for f in collect.held {
                    effects.extend(self.plugin_frame(f));
                }
                if let Some(out) = self.unacked.remove(&req) {
                    effects.extend(self.refuse(
                        &out.object,
                        error.code.as_str(),
                        &error.message,
                        Some(out.message.name()),
                    ));
                }
                return effects;
            }
            if let Some(out) = self.unacked.remove(&req) {
                return self.refuse(
                    &out.object,
                    error.code.as_str(),
                    &error.message,
                    Some(out.message.name()),
                );
            }
            if self.presence_reqs.remove(&req).is_some() {
                return vec![
                    Effect::Warn(format!("meetbridge: presence refused: {}", error.message)),
                    Effect::PresenceDone {
                        req,
                        result: Err(error),
                    },
                ];
            }
        }
        match error.object.clone() {
            Some(object) => self.refuse(&object, error.code.as_str(), &error.message, None),
            None => vec![
                Effect::Warn(format!(
                    "meetbridge: server error {}: {}",
                    error.code.as_str(),
                    error.message
                )),
                Effect::Event(HostEvent::Error(error)),
            ],
        }
    }

    /// Tells the plugin (and the page) that what it sent was refused.
    fn refuse(
        &self,
        object: &str,
        code: &str,
        message: &str,
        refused: Option<&str>,
    ) -> Vec<Effect> {
        let mut effects = vec![Effect::Warn(format!(
            "meetbridge: object {object}: refused {}: {message}",
            refused.unwrap_or("a message")
        ))];
        if self.objects.get(object).is_some_and(|o| o.open) {
            effects.push(Effect::ToPlugin {
                object: object.to_owned(),
                message: error_message(code, message, refused),
            });
        }
        effects.push(Effect::Event(HostEvent::Refused {
            object: object.to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
            refused: refused.map(str::to_owned),
        }));
        effects
    }

    /// A message from `object`'s iframe window (the glue checked `event.source`), posted
    /// from `origin`, with `data` read as JSON (`None` when it is not JSON-serialisable).
    pub fn from_plugin(&mut self, object: &str, origin: &str, data: Option<Value>) -> Vec<Effect> {
        let Some(state) = self.objects.get(object) else {
            return Vec::new();
        };
        let expected = state.expected_origin.as_deref().unwrap_or("null");
        if origin != expected {
            // Not answered: an answer could only go to the wrong origin.
            return vec![Effect::Warn(format!(
                "meetbridge: object {object}: ignored a message from origin {origin}; its plugin's origin is {expected}"
            ))];
        }
        self.accept(object, data)
    }

    /// A message the page itself sends for `object` (no iframe, no origin to check).
    pub fn from_page(&mut self, object: &str, data: Option<Value>) -> Vec<Effect> {
        self.objects.entry(object.to_owned()).or_default();
        self.accept(object, data)
    }

    fn accept(&mut self, object: &str, data: Option<Value>) -> Vec<Effect> {
        let Some(value) = data else {
            return self.refuse(
                object,
                ErrorCode::InvalidMessage.as_str(),
                "the message is not JSON-serialisable",
                None,
            );
        };
        let message = match PluginToPlatform::parse(&value) {
            Parsed::Message(message) => message,
            Parsed::Invalid(invalid) => {
                return self.refuse(
                    object,
                    ErrorCode::for_invalid(&invalid).as_str(),
                    &invalid.to_string(),
                    invalid.name.as_deref(),
                );
            }
            Parsed::Ignored(ignored) => {
                // Other libraries post to the parent too; only a mistyped `ovice_*` is ours.
                let name = value.get("type").and_then(Value::as_str).unwrap_or("");
                if name.starts_with("ovice_") {
                    return self.refuse(object, "unknown_type", &ignored.reason, Some(name));
                }
                return Vec::new();
            }
        };
        match &message {
            PluginToPlatform::Ready => {
                if let Some(state) = self.objects.get_mut(object) {
                    state.handshake = Handshake::Confirmed;
                }
                return vec![Effect::ToPlugin {
                    object: object.to_owned(),
                    message: PlatformToPlugin::Confirmation,
                }];
            }
            PluginToPlatform::ReadyConfirmed => {
                if let Some(state) = self.objects.get_mut(object) {
                    state.handshake = Handshake::Done;
                }
                return Vec::new();
            }
            PluginToPlatform::BroadcastMessage(m) | PluginToPlatform::EmitMessage(m) => {
                let me = self.identity.as_ref().map(|i| i.id.as_source());
                if let (Some(source), Some(me)) = (&m.source, &me) {
                    if source != me {
                        return self.refuse(
                            object,
                            ErrorCode::SpoofedSource.as_str(),
                            &format!("`source` is {source:?}, but this user is {me:?}"),
                            Some(message.name()),
                        );
                    }
                }
                if let Some(other) = m.object_id.as_deref().filter(|o| *o != object) {
                    return self.refuse(
                        object,
                        ErrorCode::SpoofedSource.as_str(),
                        &format!("`objectId` is {other:?}, but this plugin is object {object:?}"),
                        Some(message.name()),
                    );
                }
            }
            _ => {}
        }
        // What changes something gets an id; reads are harmless to repeat.
        let id = matches!(
            message,
            PluginToPlatform::BroadcastMessage(_)
                | PluginToPlatform::EmitMessage(_)
                | PluginToPlatform::SaveAndEmitData(_)
        )
        .then(|| self.message_id());
        let out = Outgoing {
            req: self.req(),
            object: object.to_owned(),
            id,
            message,
        };
        if self.welcomed {
            vec![self.send_plugin(out)]
        } else {
            self.queue.push_back(out);
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORIGIN: &str = "https://plugin.example";

    fn welcome() -> String {
        json!({"op": "welcome", "participant": {"id": "u1", "name": "Ann", "avatarUrl": "", "workspaceId": "w", "isVisitor": false},
               "limits": {"maxMessageBytes": 2097152, "maxDataBytes": 512000, "maxFramesPerSecond": 100}})
        .to_string()
    }

    fn sent(effects: &[Effect]) -> Vec<Value> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(t) => Some(serde_json::from_str(t).unwrap()),
                _ => None,
            })
            .collect()
    }

    fn to_plugin(effects: &[Effect]) -> Vec<Value> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::ToPlugin { message, .. } => Some(serde_json::to_value(message).unwrap()),
                _ => None,
            })
            .collect()
    }

    fn open_core() -> Core {
        let mut core = Core::new();
        core.open_object("o1", Some(ORIGIN.into()));
        core.set_presence("o1", PresenceStatus::Subscribed);
        core.from_server(&welcome());
        core
    }

    #[test]
    fn queues_before_the_socket_and_sends_presence_first() {
        let mut core = Core::new();
        core.open_object("o1", Some(ORIGIN.into()));
        let (_, effects) = core.set_presence("o1", PresenceStatus::Joined);
        assert!(sent(&effects).is_empty());
        let msg =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": 1}});
        assert!(core.from_plugin("o1", ORIGIN, Some(msg)).is_empty());
        assert_eq!(core.pending(), 1);
        let frames = sent(&core.from_server(&welcome()));
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0]["op"], "presence");
        assert_eq!(frames[0]["status"], "joined");
        assert_eq!(frames[1]["op"], "plugin");
        assert_eq!(frames[1]["message"]["payload"]["event"], "e");
        // No source or objectId invented: the server fills them in.
        assert!(frames[1]["message"]["payload"].get("source").is_none());
    }

    #[test]
    fn wrong_origin_is_refused_without_an_answer() {
        let mut core = open_core();
        let msg = json!({"type": "ovice_get_data"});
        let effects = core.from_plugin("o1", "https://evil.example", Some(msg.clone()));
        assert!(sent(&effects).is_empty() && to_plugin(&effects).is_empty());
        assert!(matches!(effects[0], Effect::Warn(_)));
        assert_eq!(sent(&core.from_plugin("o1", ORIGIN, Some(msg))).len(), 1);
    }

    #[test]
    fn opaque_frames_must_post_from_null() {
        let mut core = Core::new();
        core.open_object("o1", None);
        core.from_server(&welcome());
        let msg = json!({"type": "ovice_get_data"});
        assert!(sent(&core.from_plugin("o1", ORIGIN, Some(msg.clone()))).is_empty());
        assert_eq!(sent(&core.from_plugin("o1", "null", Some(msg))).len(), 1);
    }

    #[test]
    fn invalid_and_oversize_messages_get_an_error_and_go_no_further() {
        let mut core = open_core();
        let big = "x".repeat(meetbridge_protocol::limits::MAX_MESSAGE_BYTES);
        let msg =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": big}});
        let effects = core.from_plugin("o1", ORIGIN, Some(msg));
        assert!(sent(&effects).is_empty());
        let replies = to_plugin(&effects);
        assert_eq!(replies[0]["type"], "meetbridge_error");
        assert_eq!(replies[0]["payload"]["code"], "too_large");
        assert!(effects.iter().any(|e| matches!(e, Effect::Warn(_))));

        let effects = core.from_plugin(
            "o1",
            ORIGIN,
            Some(json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 1}})),
        );
        assert_eq!(to_plugin(&effects)[0]["payload"]["code"], "invalid_message");
        let effects = core.from_plugin("o1", ORIGIN, Some(json!({"type": "ovice_get_dat"})));
        assert_eq!(to_plugin(&effects)[0]["payload"]["code"], "unknown_type");
        // Somebody else's postMessage traffic is not ours to answer.
        assert!(core
            .from_plugin("o1", ORIGIN, Some(json!({"hello": 1})))
            .is_empty());
    }

    #[test]
    fn spoofed_source_or_object_is_refused_locally() {
        let mut core = open_core();
        for payload in [
            json!({"event": "e", "message": 1, "source": "u2"}),
            json!({"event": "e", "message": 1, "objectId": "o2"}),
        ] {
            let effects = core.from_plugin(
                "o1",
                ORIGIN,
                Some(json!({"type": "ovice_broadcast_message", "payload": payload})),
            );
            assert!(sent(&effects).is_empty());
            assert_eq!(to_plugin(&effects)[0]["payload"]["code"], "spoofed_source");
        }
        let ok = json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": 1, "source": "u1", "objectId": "o1"}});
        assert_eq!(sent(&core.from_plugin("o1", ORIGIN, Some(ok))).len(), 1);
    }

    #[test]
    fn legacy_handshake_is_answered_here() {
        let mut core = Core::new();
        core.open_object("o1", Some(ORIGIN.into()));
        let effects = core.from_plugin("o1", ORIGIN, Some(json!({"type": "ovice_ready"})));
        assert_eq!(
            to_plugin(&effects),
            vec![json!({"type": "ovice_confirmation"})]
        );
        assert_eq!(core.handshake("o1"), Handshake::Confirmed);
        assert!(core
            .from_plugin("o1", ORIGIN, Some(json!({"type": "ovice_ready_confirmed"})))
            .is_empty());
        assert_eq!(core.handshake("o1"), Handshake::Done);
        assert_eq!(core.pending(), 0);
    }

    #[test]
    fn resumes_with_since_dedupes_and_resends_unacked() {
        let mut core = open_core();
        let relayed = |seq: u64, n: i32| {
            json!({"op": "plugin", "object": "o1", "seq": seq, "message": {"type": "ovice_message",
                   "payload": {"source": "u2", "event": "e", "objectId": "o1", "message": n}}})
            .to_string()
        };
        assert_eq!(to_plugin(&core.from_server(&relayed(3, 1))).len(), 1);
        assert_eq!(core.max_seq("o1"), 3);
        let first = sent(&core.from_plugin("o1", ORIGIN, Some(json!({"type": "ovice_get_data"}))));
        let req = first[0]["req"].as_u64().unwrap();
        let (delay, _) = core.closed(0.0, true);
        assert_eq!(delay, Some(250));
        // Offline: queued.
        let msg =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "late", "message": 2}});
        assert!(core.from_plugin("o1", ORIGIN, Some(msg)).is_empty());
        let frames = sent(&core.from_server(&welcome()));
        assert_eq!(frames[0]["op"], "presence");
        assert_eq!(frames[0]["since"], 3);
        assert_eq!(frames[1]["req"], req); // the unacknowledged get_data, first
        assert_eq!(frames[2]["message"]["payload"]["event"], "late");
        // The replay overlaps: seq 3 is not delivered twice; 4 is.
        assert!(to_plugin(&core.from_server(&relayed(3, 1))).is_empty());
        assert_eq!(to_plugin(&core.from_server(&relayed(4, 2))).len(), 1);
        core.from_server(&json!({"op": "ack", "req": req}).to_string());
        assert_eq!(core.pending(), 1);
    }

    #[test]
    fn a_resend_after_a_reconnect_keeps_the_message_id() {
        let mut core = Core::with_id_prefix("pg7");
        core.open_object("o1", Some(ORIGIN.into()));
        core.set_presence("o1", PresenceStatus::Joined);
        core.from_server(&welcome());
        let broadcast =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": 1}});
        let save = json!({"type": "ovice_save_and_emit_data", "payload": {"v": 1}});
        let emit = json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 1, "to": "u2"}});
        let mut first = Vec::new();
        for msg in [broadcast, save, emit, json!({"type": "ovice_get_data"})] {
            first.extend(sent(&core.from_plugin("o1", ORIGIN, Some(msg))));
        }
        let ids: Vec<&Value> = first.iter().map(|f| &f["id"]).collect();
        assert_eq!(
            ids,
            [
                &json!("pg7-1"),
                &json!("pg7-2"),
                &json!("pg7-3"),
                &Value::Null
            ]
        );
        // The broadcast's ack got through; the rest were in flight when the socket dropped.
        core.from_server(&json!({"op": "ack", "req": first[0]["req"], "seq": 9}).to_string());
        core.closed(0.0, true);
        // Sent while offline: a new id, after the resends.
        let late =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "late", "message": 2}});
        assert!(core.from_plugin("o1", ORIGIN, Some(late)).is_empty());
        let frames = sent(&core.from_server(&welcome()));
        assert_eq!(frames[0]["op"], "presence");
        let resent: Vec<(Value, Value)> = frames[1..]
            .iter()
            .map(|f| (f["req"].clone(), f["id"].clone()))
            .collect();
        assert_eq!(
            resent,
            [
                (first[1]["req"].clone(), json!("pg7-2")),
                (first[2]["req"].clone(), json!("pg7-3")),
                (first[3]["req"].clone(), Value::Null),
                (frames[4]["req"].clone(), json!("pg7-4")),
            ]
        );
        // Dropped again before any ack: the same ids once more.
        core.closed(0.0, true);
        let again = sent(&core.from_server(&welcome()));
        let ids: Vec<&Value> = again[1..].iter().map(|f| &f["id"]).collect();
        assert_eq!(
            ids,
            [
                &json!("pg7-2"),
                &json!("pg7-3"),
                &Value::Null,
                &json!("pg7-4")
            ]
        );
    }

    #[test]
    fn server_errors_reach_the_plugin_that_sent() {
        let mut core = open_core();
        let frames = sent(&core.from_plugin("o1", ORIGIN, Some(json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 1, "to": "nobody"}}))));
        let req = frames[0]["req"].as_u64().unwrap();
        let effects = core.from_server(&json!({"op": "error", "req": req, "object": "o1", "code": "recipient_not_member", "message": "nobody is not here"}).to_string());
        let replies = to_plugin(&effects);
        assert_eq!(replies[0]["payload"]["code"], "recipient_not_member");
        assert_eq!(replies[0]["payload"]["refused"], "ovice_emit_message");
        assert_eq!(core.pending(), 0);
    }

    #[test]
    fn presence_promises_settle() {
        let mut core = open_core();
        let (req, effects) = core.set_presence("o1", PresenceStatus::Joined);
        assert_eq!(sent(&effects)[0]["status"], "joined");
        let done = core.from_server(&json!({"op": "ack", "req": req}).to_string());
        assert_eq!(
            done,
            vec![Effect::PresenceDone {
                req,
                result: Ok(())
            }]
        );
        let (req, _) = core.set_presence("nope", PresenceStatus::Subscribed);
        let done = core.from_server(
            &json!({"op": "error", "req": req, "code": "unknown_object", "message": "no"})
                .to_string(),
        );
        assert!(matches!(
            done.last(),
            Some(Effect::PresenceDone { result: Err(_), .. })
        ));
    }

    #[test]
    fn history_requests_become_history_frames_and_come_back_as_one_reply() {
        let mut core = open_core();
        let relayed = |seq: u64, source: &str, n: i32| {
            json!({"op": "plugin", "object": "o1", "seq": seq, "message": {"type": "ovice_message",
                   "payload": {"source": source, "event": "chat", "objectId": "o1", "message": n}}})
            .to_string()
        };
        let ask = json!({"type": "meetbridge_get_history", "payload": {"limit": 10}});
        let frames = sent(&core.from_plugin("o1", ORIGIN, Some(ask)));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0]["op"], "history");
        assert_eq!(frames[0]["object"], "o1");
        assert_eq!(frames[0]["limit"], 10);
        assert!(frames[0].get("since").is_none());
        let req = frames[0]["req"].as_u64().unwrap();
        // The answer: old frames (one of them this user's own), a duplicate, and one live
        // frame relayed meanwhile (after `upto`). Nothing reaches the plugin until the ack.
        for text in [
            json!({"op": "missed", "object": "o1", "from": 1, "to": 4}).to_string(),
            relayed(5, "u2", 1),
            relayed(6, "u1", 2),
            relayed(6, "u1", 2),
            relayed(8, "u2", 4),
            relayed(7, "u2", 3),
        ] {
            assert!(to_plugin(&core.from_server(&text)).is_empty(), "{text}");
        }
        let effects = core.from_server(&json!({"op": "ack", "req": req, "seq": 7}).to_string());
        let replies = to_plugin(&effects);
        assert_eq!(replies.len(), 2, "{replies:?}");
        assert_eq!(replies[0]["type"], "meetbridge_history");
        let page = &replies[0]["payload"];
        let seqs: Vec<u64> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [5, 6, 7]);
        assert_eq!(page["entries"][1]["message"]["source"], "u1");
        assert_eq!(page["upto"], 7);
        assert_eq!(page["more"], false);
        assert_eq!(page["missed"], json!([1, 4]));
        // The live one, as usual, after the reply.
        assert_eq!(replies[1]["type"], "ovice_message");
        assert_eq!(replies[1]["payload"]["message"], 4);
        assert_eq!(core.max_seq("o1"), 8);
        // A resume after a drop starts after what the reply covered.
        core.closed(0.0, true);
        let frames = sent(&core.from_server(&welcome()));
        assert_eq!(frames[0]["since"], 8);
        assert_eq!(core.pending(), 0);
    }

    #[test]
    fn backward_history_pages_carry_the_cursor_and_the_start_flag() {
        let mut core = open_core();
        let relayed = |seq: u64, n: i32| {
            json!({"op": "plugin", "object": "o1", "seq": seq, "message": {"type": "ovice_message",
                   "payload": {"source": "u2", "event": "chat", "objectId": "o1", "message": n}}})
            .to_string()
        };
        // The newest page.
        let ask =
            json!({"type": "meetbridge_get_history", "payload": {"backward": true, "limit": 2}});
        let frames = sent(&core.from_plugin("o1", ORIGIN, Some(ask)));
        assert_eq!(frames[0]["op"], "history");
        assert_eq!(frames[0]["backward"], true);
        let req = frames[0]["req"].as_u64().unwrap();
        for text in [relayed(9, 1), relayed(10, 2)] {
            assert!(to_plugin(&core.from_server(&text)).is_empty());
        }
        let replies = to_plugin(
            &core.from_server(&json!({"op": "ack", "req": req, "seq": 10, "from": 9}).to_string()),
        );
        let page = &replies[0]["payload"];
        assert_eq!(page["from"], 9);
        assert_eq!(page["start"], false);
        assert_eq!(page["more"], false);
        assert_eq!(page["entries"].as_array().unwrap().len(), 2);
        // The page before it reaches the start.
        let ask = json!({"type": "meetbridge_get_history", "payload": {"before": 9, "limit": 2}});
        let frames = sent(&core.from_plugin("o1", ORIGIN, Some(ask)));
        assert_eq!(frames[0]["before"], 9);
        assert!(frames[0].get("backward").is_none());
        let req = frames[0]["req"].as_u64().unwrap();
        assert!(to_plugin(&core.from_server(&relayed(4, 0))).is_empty());
        let replies = to_plugin(&core.from_server(
            &json!({"op": "ack", "req": req, "seq": 8, "from": 1, "start": true}).to_string(),
        ));
        assert_eq!(replies.len(), 1, "{replies:?}");
        let page = &replies[0]["payload"];
        assert_eq!(
            (page["from"].as_u64(), page["start"].as_bool()),
            (Some(1), Some(true))
        );
        assert_eq!(page["entries"][0]["seq"], 4);
        // Old pages do not move the resume point back.
        assert_eq!(core.max_seq("o1"), 10);
    }

    #[test]
    fn a_refused_history_request_releases_what_was_held() {
        let mut core = open_core();
        let ask = json!({"type": "meetbridge_get_history"});
        let req = sent(&core.from_plugin("o1", ORIGIN, Some(ask)))[0]["req"]
            .as_u64()
            .unwrap();
        let live = json!({"op": "plugin", "object": "o1", "seq": 3, "message": {"type": "ovice_message",
                   "payload": {"source": "u2", "event": "chat", "objectId": "o1", "message": "hi"}}});
        assert!(to_plugin(&core.from_server(&live.to_string())).is_empty());
        let effects = core.from_server(
            &json!({"op": "error", "req": req, "object": "o1", "code": "not_member", "message": "no"})
                .to_string(),
        );
        let replies = to_plugin(&effects);
        assert_eq!(replies[0]["type"], "ovice_message");
        assert_eq!(replies[1]["type"], "meetbridge_error");
        assert_eq!(replies[1]["payload"]["refused"], "meetbridge_get_history");
        assert_eq!(core.max_seq("o1"), 3);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ms(0, 0.0), 250);
        assert_eq!(backoff_ms(1, 0.0), 500);
        assert_eq!(backoff_ms(20, 0.0), 10_000);
        assert_eq!(backoff_ms(20, 0.999), 12_497);
    }

    #[test]
    fn same_origin_plugins_lose_allow_same_origin_by_default() {
        let p = frame_policy(None, "https://a", "https://a");
        assert_eq!(
            p.sandbox.as_deref(),
            Some("allow-scripts allow-forms allow-popups")
        );
        assert_eq!(p.origin, None);
        let p = frame_policy(None, "https://plugin", "https://a");
        assert_eq!(p.sandbox.as_deref(), Some(DEFAULT_SANDBOX));
        assert_eq!(p.origin.as_deref(), Some("https://plugin"));
        let p = frame_policy(
            Some(Some("allow-scripts allow-same-origin")),
            "https://a",
            "https://a",
        );
        assert!(p.warning.is_some());
        assert_eq!(p.origin.as_deref(), Some("https://a"));
        let p = frame_policy(Some(None), "https://plugin", "https://a");
        assert_eq!(
            (p.sandbox, p.origin.as_deref()),
            (None, Some("https://plugin"))
        );
        let p = frame_policy(Some(Some("allow-scripts")), "https://plugin", "https://a");
        assert_eq!(p.origin, None);
    }
}
