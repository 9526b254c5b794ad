//! The host runtime's logic, free of the browser: a state machine fed with what plugins
//! post (as JSON text), what the server sends and what the page asks for, answering with
//! [`Effect`]s that the TypeScript glue (`web/host/space-host.ts`, through `lib.rs`)
//! carries out. Everything here runs (and is tested) natively.

use std::collections::{BTreeMap, VecDeque};

use meetbridge_protocol::bridge::{
    Ack, ClientFrame, ErrorCode, ErrorFrame, HistoryFrame, Identity, Missed, PluginFrame,
    PresenceFrame, ServerFrame, ServerPluginFrame, Welcome,
};
use meetbridge_protocol::legacy::FromPlugin;
use meetbridge_protocol::ovice::{
    message_type, HistoryEntry, HistoryPage, JsonText, PlatformToPlugin, PluginError,
    PluginToPlatform, PresenceStatus, SentReceipt, SentRequest,
};
use meetbridge_protocol::plugin_url::{check_plugin_url, PluginUrl, PluginUrlPolicy};
use meetbridge_protocol::space::FloorFrame;
use meetbridge_protocol::Parsed;
use serde::Serialize;

use crate::connection::{
    AfterClose, Servers, ServersError, CLOSE_UNAUTHORIZED, MAX_TOKEN_REFUSALS,
};
pub use crate::legacy::Handshake;

/// The code of the `refused` event for a plugin URL the host runtime will not load.
pub const PLUGIN_URL_REFUSED: &str = "plugin_url_refused";

/// How long after its document loaded a plugin that has not posted anything yet is taken
/// to listen anyway (its events are held until then).
pub const LISTEN_TIMEOUT_MS: u32 = 1500;
/// How long a leaving plugin must stay quiet, with nothing in flight, to be removed before
/// its grace period ends.
pub const QUIET_MS: u32 = 300;
/// The grace period of a leaving plugin, unless the page sets another.
pub const DEFAULT_GRACE_MS: u32 = 5000;

/// What the glue must do, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Effect {
    /// Send this text frame on the socket (only produced while the socket is up).
    Send { text: String },
    /// Post this message into the object's plugin iframe (its document has loaded and it
    /// listens: the core holds messages until then).
    ToPlugin {
        object: String,
        #[cfg_attr(feature = "codegen", ts(type = "PlatformToPlugin"))]
        message: JsonText,
    },
    /// `console.warn` this.
    Warn { text: String },
    /// Tell the page (its `onEvent` callback).
    Event { event: HostEvent },
    /// Settle the promise of a `setPresence` call: resolve, or reject with `error`.
    PresenceDone {
        #[cfg_attr(feature = "codegen", ts(type = "number"))]
        req: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "codegen", ts(optional))]
        error: Option<ErrorFrame>,
    },
    /// Call `timer(object, timer, token)` after `ms`.
    Timer {
        object: String,
        timer: TimerKind,
        #[cfg_attr(feature = "codegen", ts(type = "number"))]
        token: u64,
        ms: u32,
    },
    /// Remove the object's iframe (its grace period is over, or it went quiet).
    RemoveFrame { object: String },
}

/// The timers the core asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum TimerKind {
    /// A plugin that has not posted yet is taken to listen.
    Listen,
    /// A leaving plugin may have gone quiet.
    Quiet,
    /// A leaving plugin's grace period is over.
    Grace,
}

/// What the page hears about, through `onEvent`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum HostEvent {
    /// The socket's state. `retryInMs` is set when a reconnect is scheduled.
    #[serde(rename_all = "camelCase")]
    State {
        state: ConnState,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "codegen", ts(optional))]
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
        #[cfg_attr(feature = "codegen", ts(optional))]
        refused: Option<String>,
    },
    /// Messages past the server's history window could not be replayed.
    Missed(Missed),
    /// A server error about no object in particular.
    Error(ErrorFrame),
    /// The object's plugin is leaving: it stays (and may still save and broadcast) for at
    /// most `graceMs`, and goes as soon as it is quiet.
    #[serde(rename_all = "camelCase")]
    Leaving { object: String, grace_ms: u32 },
    /// The object's plugin iframe was removed.
    Closed { object: String },
    /// The server no longer accepts this page's token (4401) and the page gave no fresh
    /// one: the host runtime stays closed. `reason` is the server's (or the host's) word.
    SessionEnded { reason: String },
    /// Something changed on the space's floor (an object added, edited or removed; the
    /// space renamed or deleted): the page redraws; the core keeps nothing of it.
    Floor(FloorFrame),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ConnState {
    Connecting,
    Open,
    Closed,
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
    /// The iframe's document has loaded (before that, a message would reach `about:blank`).
    loaded: bool,
    /// The plugin has shown it listens: it posted something, or the listen timeout passed.
    listening: bool,
    /// Messages for the plugin until it is loaded and listens, in order.
    held: Vec<JsonText>,
    /// The plugin's broadcasts and emits in the order it sent them, each waiting for the
    /// server's answer: `meetbridge_sent` / `meetbridge_error` go out in this order.
    receipts: VecDeque<Receipt>,
    /// The grace period (ms) while the plugin is leaving.
    leaving: Option<u32>,
    /// The token of the latest timer of each kind: an older timer firing is ignored.
    timers: BTreeMap<u8, u64>,
}

#[derive(Debug, Clone)]
struct Receipt {
    /// The request the server answers (`None`: refused by the host, ready at once).
    req: Option<u64>,
    /// The message to post once every earlier send has its answer.
    ready: Option<JsonText>,
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
    /// Every `presence` frame sent on this socket that has no answer yet (the page's and
    /// the resumes): its `ack` says where the object stood, which is where a resume starts.
    arrivals: BTreeMap<u64, String>,
    /// Consecutive failed connection attempts, for the backoff.
    attempts: u32,
    /// `meetbridge_get_history` requests waiting for their ack, by request id.
    history: BTreeMap<u64, HistoryCollect>,
    /// Prefix of this page's message ids (random per page, see [`Core::with_id_prefix`]).
    id_prefix: String,
    /// Message ids handed out so far.
    next_id: u64,
    /// Timer tokens handed out so far.
    next_token: u64,
    /// The server URLs to try, in order.
    servers: Servers,
    /// Sockets closed with 4401 since the last `welcome`.
    token_refusals: u32,
}

/// The reconnect delay after `attempts` failures: 250 ms doubling up to 10 s, with up to
/// 25 % of jitter (`random` in `[0, 1)`), so a restarted server is not hit all at once.
pub fn backoff_ms(attempts: u32, random: f64) -> u32 {
    let base = 250u32.saturating_mul(1u32 << attempts.min(6)).min(10_000);
    let jitter = (f64::from(base) * 0.25 * random.clamp(0.0, 1.0)) as u32;
    base + jitter
}

/// The default sandbox and permissions policy of a plugin iframe are defined once, in the
/// protocol crate, where the server also checks an object's narrowing of them.
pub use meetbridge_protocol::space::{DEFAULT_ALLOW, DEFAULT_SANDBOX};

/// How an object's iframe is sandboxed and which origin its messages must come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
pub struct FramePolicy {
    /// The `sandbox` attribute, `None` for no attribute at all.
    pub sandbox: Option<String>,
    /// The `allow` attribute (permissions policy).
    pub allow: String,
    /// The plugin's origin when it is known; `None` when the frame's origin is opaque.
    pub origin: Option<String>,
    /// A warning for the console, when the policy had to tighten or looks unsafe.
    pub warning: Option<String>,
}

/// Whether a sandbox attribute value lists `token`.
fn has(sandbox: &str, token: &str) -> bool {
    sandbox.split_whitespace().any(|t| t == token)
}

/// Decides the sandbox and the expected origin of a plugin iframe.
///
/// `requested`: `None` = the default, `Some(None)` = no sandbox attribute, `Some(Some(s))`
/// = exactly `s`. A plugin on the page's own origin that had both `allow-scripts` and
/// `allow-same-origin` could reach into the page (and its token) and remove its own
/// sandbox, so `allow-same-origin` is dropped for such a plugin, from the default and from
/// an explicit list alike (with a warning): it then runs on an opaque origin. Only
/// `Some(None)`, the page's deliberate "no sandbox at all", is honoured, with a warning.
pub fn frame_policy(
    requested: Option<Option<&str>>,
    plugin_origin: &str,
    page_origin: &str,
) -> FramePolicy {
    frame_policy_with(requested, None, plugin_origin, page_origin)
}

/// [`frame_policy`] with the `allow` attribute: `None` = [`DEFAULT_ALLOW`], else exactly
/// the given policy (a per-object narrowing; `""` allows nothing extra).
pub fn frame_policy_with(
    requested: Option<Option<&str>>,
    allow: Option<&str>,
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
        Some(Some(s)) if same_origin && has(s, "allow-scripts") && has(s, "allow-same-origin") => (
            Some(
                s.split_whitespace()
                    .filter(|t| *t != "allow-same-origin")
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Some(format!(
                "plugin {plugin_origin} is on the page's origin: allow-same-origin was dropped from its sandbox, which would let it reach the page; serve it from another origin to give it its own"
            )),
        ),
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
        allow: allow.unwrap_or(DEFAULT_ALLOW).to_owned(),
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

impl Effect {
    fn send(text: String) -> Self {
        Effect::Send { text }
    }
    fn warn(text: String) -> Self {
        Effect::Warn { text }
    }
    fn event(event: HostEvent) -> Self {
        Effect::Event { event }
    }
}

/// The receipt of a broadcast or emit, if the message is one.
fn sent_request(message: &PluginToPlatform) -> Option<SentRequest> {
    match message {
        PluginToPlatform::BroadcastMessage(_) => Some(SentRequest::BroadcastMessage),
        PluginToPlatform::EmitMessage(_) => Some(SentRequest::EmitMessage),
        _ => None,
    }
}

fn timer_slot(kind: TimerKind) -> u8 {
    kind as u8
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

    /// An iframe was attached for `object`, posting from `origin` (`None`: opaque). Until
    /// its document has loaded ([`Core::frame_loaded`]) and it shows it listens, what is
    /// meant for it is held.
    pub fn open_object(&mut self, object: &str, origin: Option<String>) {
        let state = self.objects.entry(object.to_owned()).or_default();
        state.expected_origin = origin;
        state.open = true;
        state.handshake = Handshake::None;
        state.loaded = false;
        state.listening = false;
        state.held.clear();
        state.receipts.clear();
        state.leaving = None;
    }

    /// The object's iframe is going. With `grace_ms` > 0 it stays for at most that long,
    /// so that the plugin hears its own departure and may still save and broadcast; it
    /// goes as soon as it is quiet with nothing in flight. With 0 it goes at once. Its
    /// presence stays as the page set it.
    pub fn close_object(&mut self, object: &str, grace_ms: u32) -> Vec<Effect> {
        let Some(state) = self.objects.get_mut(object) else {
            return Vec::new();
        };
        if !state.open {
            return Vec::new();
        }
        if grace_ms == 0 || !state.loaded {
            return self.remove_frame(object);
        }
        state.leaving = Some(grace_ms);
        let mut effects = vec![Effect::event(HostEvent::Leaving {
            object: object.to_owned(),
            grace_ms,
        })];
        effects.push(self.timer(object, TimerKind::Grace, grace_ms));
        effects.push(self.timer(object, TimerKind::Quiet, QUIET_MS));
        effects
    }

    /// Whether the object's plugin is in its grace period.
    pub fn is_leaving(&self, object: &str) -> bool {
        self.objects
            .get(object)
            .is_some_and(|o| o.open && o.leaving.is_some())
    }

    fn remove_frame(&mut self, object: &str) -> Vec<Effect> {
        if let Some(state) = self.objects.get_mut(object) {
            state.open = false;
            state.leaving = None;
            state.held.clear();
            state.receipts.clear();
        }
        vec![
            Effect::RemoveFrame {
                object: object.to_owned(),
            },
            Effect::event(HostEvent::Closed {
                object: object.to_owned(),
            }),
        ]
    }

    fn timer(&mut self, object: &str, kind: TimerKind, ms: u32) -> Effect {
        self.next_token += 1;
        let token = self.next_token;
        if let Some(state) = self.objects.get_mut(object) {
            state.timers.insert(timer_slot(kind), token);
        }
        Effect::Timer {
            object: object.to_owned(),
            timer: kind,
            token,
            ms,
        }
    }

    /// The iframe's document has loaded: held messages go out once the plugin listens
    /// (at once if it already posted something, else after [`LISTEN_TIMEOUT_MS`]).
    pub fn frame_loaded(&mut self, object: &str) -> Vec<Effect> {
        let Some(state) = self.objects.get_mut(object) else {
            return Vec::new();
        };
        state.loaded = true;
        if state.listening {
            return self.flush_held(object);
        }
        vec![self.timer(object, TimerKind::Listen, LISTEN_TIMEOUT_MS)]
    }

    /// A timer the core asked for fired.
    pub fn timer_fired(&mut self, object: &str, kind: TimerKind, token: u64) -> Vec<Effect> {
        let Some(state) = self.objects.get_mut(object) else {
            return Vec::new();
        };
        if state.timers.get(&timer_slot(kind)) != Some(&token) || !state.open {
            return Vec::new();
        }
        match kind {
            TimerKind::Listen => {
                state.listening = true;
                self.flush_held(object)
            }
            TimerKind::Grace if state.leaving.is_some() => self.remove_frame(object),
            TimerKind::Quiet if state.leaving.is_some() => {
                if self.is_idle(object) {
                    self.remove_frame(object)
                } else {
                    vec![self.timer(object, TimerKind::Quiet, QUIET_MS)]
                }
            }
            _ => Vec::new(),
        }
    }

    /// Nothing of the object's plugin is in flight: no message held for it, unsent or
    /// unacknowledged, no presence change or history request unanswered.
    fn is_idle(&self, object: &str) -> bool {
        let state = match self.objects.get(object) {
            Some(s) => s,
            None => return true,
        };
        state.held.is_empty()
            && state.receipts.is_empty()
            && !self.queue.iter().any(|o| o.object == object)
            && !self.unacked.values().any(|o| o.object == object)
            && !self.presence_reqs.values().any(|o| o == object)
            && !self.history.values().any(|c| c.object == object)
    }

    /// Something happened on a leaving plugin: it is not quiet yet.
    fn activity(&mut self, object: &str) -> Vec<Effect> {
        if self
            .objects
            .get(object)
            .is_some_and(|o| o.open && o.leaving.is_some())
        {
            vec![self.timer(object, TimerKind::Quiet, QUIET_MS)]
        } else {
            Vec::new()
        }
    }

    /// Posts `message` to the object's plugin, or holds it until the plugin is loaded and
    /// listens. Nothing for an object without an iframe.
    fn deliver(&mut self, object: &str, message: JsonText) -> Vec<Effect> {
        let Some(state) = self.objects.get_mut(object) else {
            return Vec::new();
        };
        if !state.open {
            return Vec::new();
        }
        if !(state.loaded && state.listening) {
            state.held.push(message);
            return Vec::new();
        }
        let mut effects = vec![Effect::ToPlugin {
            object: object.to_owned(),
            message,
        }];
        effects.extend(self.activity(object));
        effects
    }

    fn deliver_message(&mut self, object: &str, message: &PlatformToPlugin) -> Vec<Effect> {
        let text = JsonText::from_text(message.to_text()).unwrap_or_else(|_| JsonText::null());
        self.deliver(object, text)
    }

    fn flush_held(&mut self, object: &str) -> Vec<Effect> {
        let Some(state) = self.objects.get_mut(object) else {
            return Vec::new();
        };
        if !(state.open && state.loaded && state.listening) {
            return Vec::new();
        }
        let held = std::mem::take(&mut state.held);
        let mut effects: Vec<Effect> = held
            .into_iter()
            .map(|message| Effect::ToPlugin {
                object: object.to_owned(),
                message,
            })
            .collect();
        if !effects.is_empty() {
            effects.extend(self.activity(object));
        }
        effects
    }

    /// The answer to one of the object's sends (`req`; `None`: refused by the host): it is
    /// posted once every earlier send of the plugin has its answer.
    fn settle_receipt(&mut self, object: &str, req: Option<u64>, answer: JsonText) -> Vec<Effect> {
        let Some(state) = self.objects.get_mut(object) else {
            return Vec::new();
        };
        match req.and_then(|r| state.receipts.iter_mut().find(|x| x.req == Some(r))) {
            Some(receipt) => receipt.ready = Some(answer),
            None if req.is_none() => state.receipts.push_back(Receipt {
                req: None,
                ready: Some(answer),
            }),
            // Not waited for (the iframe was replaced meanwhile): nobody to tell.
            None => return Vec::new(),
        }
        let mut ready = Vec::new();
        while state.receipts.front().is_some_and(|r| r.ready.is_some()) {
            if let Some(answer) = state.receipts.pop_front().and_then(|r| r.ready) {
                ready.push(answer);
            }
        }
        let mut effects = Vec::new();
        for answer in ready {
            effects.extend(self.deliver(object, answer));
        }
        effects
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
            if status != PresenceStatus::Unsubscribed {
                self.arrivals.insert(req, object.to_owned());
            }
            effects.push(Effect::send(frame_text(&ClientFrame::Presence(
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
        vec![Effect::event(HostEvent::State {
            state: ConnState::Connecting,
            retry_in_ms: None,
        })]
    }

    /// The server URLs to try, in order (one URL behind a load balancer is a list of one).
    pub fn set_servers(&mut self, urls: Vec<String>) -> Result<(), ServersError> {
        self.servers = Servers::new(urls)?;
        Ok(())
    }

    /// The server URL to open now.
    pub fn server_url(&self) -> Option<&str> {
        self.servers.current()
    }

    /// The socket closed (or failed to open) with close `code` and `reason`. Unacknowledged
    /// messages go back to the front of the queue, to be sent again (with their ids) once
    /// the server has welcomed the next connection. What comes next:
    /// - `reconnect` false: stay closed;
    /// - 4401 (the token expired or was revoked): ask the page for a fresh token, unless
    ///   [`MAX_TOKEN_REFUSALS`] fresh tokens in a row were refused: the session ends;
    /// - anything else: the next server URL of the list, after the backoff for `attempts`
    ///   (`random` in `[0, 1)` jitters it), which grows once per round of the list.
    pub fn closed(
        &mut self,
        code: u16,
        reason: &str,
        random: f64,
        reconnect: bool,
    ) -> (AfterClose, Vec<Effect>) {
        self.welcomed = false;
        self.arrivals.clear();
        // Held frames were not delivered and did not move `max_seq`: the resume replays
        // them; the history request itself is sent again with the unacknowledged messages.
        self.history.clear();
        let unacked = std::mem::take(&mut self.unacked);
        for (_, out) in unacked.into_iter().rev() {
            self.queue.push_front(out);
        }
        let closed = |retry_in_ms| {
            Effect::event(HostEvent::State {
                state: ConnState::Closed,
                retry_in_ms,
            })
        };
        if !reconnect {
            return (AfterClose::Stay, vec![closed(None)]);
        }
        if code == CLOSE_UNAUTHORIZED {
            self.token_refusals += 1;
            let reason = if reason.is_empty() {
                "unauthorized"
            } else {
                reason
            };
            if self.token_refusals > MAX_TOKEN_REFUSALS {
                let why = format!(
                    "the server refused {MAX_TOKEN_REFUSALS} fresh tokens in a row (last: {reason})"
                );
                return (AfterClose::Stay, self.session_ended(why, closed(None)));
            }
            return (
                AfterClose::RefreshToken {
                    reason: reason.to_owned(),
                },
                vec![closed(None)],
            );
        }
        let Some(url) = self.next_server() else {
            return (
                AfterClose::Stay,
                vec![
                    Effect::warn("meetbridge: no server URL to reconnect to".into()),
                    closed(None),
                ],
            );
        };
        let rounds = self.attempts / self.servers.len().max(1) as u32;
        let delay = backoff_ms(rounds, random);
        self.attempts = self.attempts.saturating_add(1);
        (
            AfterClose::Reconnect {
                url,
                delay_ms: delay,
            },
            vec![closed(Some(delay))],
        )
    }

    /// The next server of the list (the same one for a list of one).
    fn next_server(&mut self) -> Option<String> {
        self.servers.rotate();
        self.servers.current().map(str::to_owned)
    }

    /// The page answered a `refreshToken`: with a token (`given`), reconnect to the same
    /// server at once; without one, the session is over.
    pub fn token_refreshed(&mut self, given: bool, reason: &str) -> (AfterClose, Vec<Effect>) {
        match (given, self.servers.current()) {
            (true, Some(url)) => (
                AfterClose::Reconnect {
                    url: url.to_owned(),
                    delay_ms: 0,
                },
                Vec::new(),
            ),
            (true, None) => (
                AfterClose::Stay,
                vec![Effect::warn(
                    "meetbridge: no server URL to reconnect to".into(),
                )],
            ),
            (false, _) => {
                let why = if reason.is_empty() {
                    "the server no longer accepts this page's token, and no fresh one was given"
                        .to_owned()
                } else {
                    format!("{reason}, and no fresh token was given")
                };
                (AfterClose::Stay, self.session_ended(why, None))
            }
        }
    }

    fn session_ended(&mut self, reason: String, first: impl Into<Option<Effect>>) -> Vec<Effect> {
        let mut effects: Vec<Effect> = first.into().into_iter().collect();
        effects.push(Effect::warn(format!("meetbridge: session ended: {reason}")));
        effects.push(Effect::event(HostEvent::SessionEnded { reason }));
        effects
    }

    /// Whether `url` may become object `object`'s iframe, by the server's own policy
    /// ([`check_plugin_url`]; `allow_http`: the operator's flag for plain `http:`). A refused
    /// URL gives the effects that say why (a warning, a `refused` event with code
    /// [`PLUGIN_URL_REFUSED`]): the glue then makes no iframe.
    pub fn check_frame_url(&self, object: &str, url: &str, allow_http: bool) -> Vec<Effect> {
        let policy = PluginUrlPolicy {
            allow_http,
            allowed_origins: &[],
        };
        let why = match check_plugin_url("pluginUrl", url, &policy) {
            Ok(PluginUrl::SameServer | PluginUrl::Absolute { .. }) => return Vec::new(),
            Ok(PluginUrl::Floor) => {
                "`pluginUrl` is the floor, which the page draws itself: it is not loaded in an iframe".to_owned()
            }
            Err(e) => e.to_string(),
        };
        let message = format!("the plugin of object {object} was not opened: {why}");
        vec![
            Effect::warn(format!("meetbridge: {message}")),
            Effect::event(HostEvent::Refused {
                object: object.to_owned(),
                code: PLUGIN_URL_REFUSED.to_owned(),
                message,
                refused: Some("pluginUrl".to_owned()),
            }),
        ]
    }

    /// One text frame from the server.
    pub fn from_server(&mut self, text: &str) -> Vec<Effect> {
        // The server's frames go through the same parsers: a platform message that does not
        // follow the oVice contract never reaches a plugin.
        let frame = match ServerFrame::parse(text) {
            Parsed::Message(frame) => frame,
            Parsed::Invalid(e) => {
                return vec![Effect::warn(format!(
                    "meetbridge: ignored an invalid server frame: {e}"
                ))]
            }
            Parsed::Ignored(i) => {
                return vec![Effect::warn(format!(
                    "meetbridge: ignored a server frame: {}",
                    i.reason
                ))]
            }
        };
        match frame {
            ServerFrame::Welcome(welcome) => self.welcome(welcome),
            ServerFrame::Ack(ack) => {
                let out = self.unacked.remove(&ack.req);
                if let Some(collect) = self.history.remove(&ack.req) {
                    return self.history_done(collect, &ack);
                }
                if let Some(out) = out {
                    let mut effects = Vec::new();
                    if let Some(request) = sent_request(&out.message) {
                        let receipt = PlatformToPlugin::Sent(SentReceipt {
                            request,
                            seq: ack.seq,
                        });
                        let text = JsonText::from_text(receipt.to_text())
                            .unwrap_or_else(|_| JsonText::null());
                        effects.extend(self.settle_receipt(&out.object, Some(ack.req), text));
                    }
                    effects.extend(self.activity(&out.object));
                    return effects;
                }
                if let Some(object) = self.arrivals.remove(&ack.req) {
                    // The object's latest `seq` when this page arrived: a resume starts
                    // there even if nothing has been delivered since. Not while a
                    // history answer holds frames below it (they would be dropped).
                    let collecting = self.history.values().any(|c| c.object == object);
                    if let (Some(head), false) = (ack.seq, collecting) {
                        let state = self.objects.entry(object).or_default();
                        state.max_seq = state.max_seq.max(head);
                    }
                }
                match self.presence_reqs.remove(&ack.req) {
                    Some(object) => {
                        let mut effects = vec![Effect::PresenceDone {
                            req: ack.req,
                            error: None,
                        }];
                        effects.extend(self.activity(&object));
                        effects
                    }
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
                    let lost = error_message(
                        "missed_messages",
                        format!(
                            "messages {}..={} of this object were past the server's history window and are lost",
                            missed.from, missed.to
                        ),
                        None,
                    );
                    effects.extend(self.deliver_message(&missed.object, &lost));
                }
                effects.push(Effect::event(HostEvent::Missed(missed)));
                effects
            }
            ServerFrame::Error(error) => self.server_error(error),
            ServerFrame::Pong(_) => Vec::new(),
            ServerFrame::Floor(floor) => vec![Effect::event(HostEvent::Floor(floor))],
        }
    }

    fn welcome(&mut self, welcome: Welcome) -> Vec<Effect> {
        self.identity = Some(welcome.participant.clone());
        self.welcomed = true;
        self.attempts = 0;
        self.token_refusals = 0;
        let mut effects = vec![
            Effect::event(HostEvent::State {
                state: ConnState::Open,
                retry_in_ms: None,
            }),
            Effect::event(HostEvent::Welcome(welcome)),
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
                effects.push(Effect::PresenceDone { req, error: None });
            }
        }
        for (object, status, max_seq) in presences {
            let req = self.req();
            self.arrivals.insert(req, object.clone());
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
                    error: None,
                });
            }
            effects.push(Effect::send(frame_text(&ClientFrame::Presence(
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
        Effect::send(text)
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
        let page = PlatformToPlugin::History(HistoryPage {
            entries,
            upto,
            more,
            from,
            start: ack.start,
            missed,
        });
        let mut effects = self.deliver_message(&object, &page);
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
        let mut effects = self.deliver_message(&frame.object, &frame.message);
        effects.push(Effect::event(HostEvent::Plugin(frame)));
        effects
    }

    fn server_error(&mut self, error: ErrorFrame) -> Vec<Effect> {
        let req = error.req;
        if let Some(req) = req {
            self.arrivals.remove(&req);
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
                        None,
                    ));
                }
                return effects;
            }
            if let Some(out) = self.unacked.remove(&req) {
                let receipt = sent_request(&out.message).map(|_| Some(req));
                let mut effects = self.refuse(
                    &out.object,
                    error.code.as_str(),
                    &error.message,
                    Some(out.message.name()),
                    receipt,
                );
                effects.extend(self.activity(&out.object));
                return effects;
            }
            if let Some(object) = self.presence_reqs.remove(&req) {
                let mut effects = vec![
                    Effect::warn(format!("meetbridge: presence refused: {}", error.message)),
                    Effect::PresenceDone {
                        req,
                        error: Some(error),
                    },
                ];
                effects.extend(self.activity(&object));
                return effects;
            }
        }
        match error.object.clone() {
            Some(object) => self.refuse(&object, error.code.as_str(), &error.message, None, None),
            None => vec![
                Effect::warn(format!(
                    "meetbridge: server error {}: {}",
                    error.code.as_str(),
                    error.message
                )),
                Effect::event(HostEvent::Error(error)),
            ],
        }
    }

    /// Tells the plugin (and the page) that what it sent was refused. `receipt` is set for
    /// a broadcast or emit (with the request the server refused, or `None` when the host
    /// refused it): the error then keeps its place among the plugin's sends.
    fn refuse(
        &mut self,
        object: &str,
        code: &str,
        message: &str,
        refused: Option<&str>,
        receipt: Option<Option<u64>>,
    ) -> Vec<Effect> {
        let mut effects = vec![Effect::warn(format!(
            "meetbridge: object {object}: refused {}: {message}",
            refused.unwrap_or("a message")
        ))];
        let error = error_message(code, message, refused);
        let text = JsonText::from_text(error.to_text()).unwrap_or_else(|_| JsonText::null());
        effects.extend(match receipt {
            Some(req) => self.settle_receipt(object, req, text),
            None => self.deliver(object, text),
        });
        effects.push(Effect::event(HostEvent::Refused {
            object: object.to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
            refused: refused.map(str::to_owned),
        }));
        effects
    }

    /// A message from `object`'s iframe window (the glue checked `event.source`), posted
    /// from `origin`, as the JSON text of `event.data` (`None` when it is not
    /// JSON-serialisable). Any message shows that the plugin listens.
    pub fn from_plugin(&mut self, object: &str, origin: &str, text: Option<&str>) -> Vec<Effect> {
        let Some(state) = self.objects.get_mut(object) else {
            return Vec::new();
        };
        let expected = state.expected_origin.as_deref().unwrap_or("null");
        if origin != expected {
            // Not answered: an answer could only go to the wrong origin.
            return vec![Effect::warn(format!(
                "meetbridge: object {object}: ignored a message from origin {origin}; its plugin's origin is {expected}"
            ))];
        }
        let mut effects = Vec::new();
        if !state.listening {
            state.listening = true;
            effects.extend(self.flush_held(object));
        }
        effects.extend(self.activity(object));
        effects.extend(self.accept(object, text));
        effects
    }

    /// A message the page itself sends for `object` (no iframe, no origin to check), as
    /// JSON text.
    pub fn from_page(&mut self, object: &str, text: Option<&str>) -> Vec<Effect> {
        self.objects.entry(object.to_owned()).or_default();
        self.accept(object, text)
    }

    fn accept(&mut self, object: &str, text: Option<&str>) -> Vec<Effect> {
        let Some(text) = text else {
            return self.refuse(
                object,
                ErrorCode::InvalidMessage.as_str(),
                "the message is not JSON-serialisable",
                None,
                None,
            );
        };
        let message = match FromPlugin::parse_text(text) {
            Parsed::Message(FromPlugin::Current(message)) => message,
            Parsed::Message(FromPlugin::Handshake(step)) => {
                let reply = match self.objects.get_mut(object) {
                    Some(state) => crate::legacy::answer(&mut state.handshake, step),
                    None => None,
                };
                return match reply {
                    Some(reply) => self.deliver(object, reply),
                    None => Vec::new(),
                };
            }
            Parsed::Invalid(invalid) => {
                let name = invalid
                    .name
                    .as_deref()
                    .map(meetbridge_protocol::legacy::current_name);
                let receipt =
                    matches!(name, Some("ovice_broadcast_message" | "ovice_emit_message"))
                        .then_some(None);
                return self.refuse(
                    object,
                    ErrorCode::for_invalid(&invalid).as_str(),
                    &invalid.to_string(),
                    invalid.name.as_deref(),
                    receipt,
                );
            }
            Parsed::Ignored(ignored) => {
                // Other libraries post to the parent too; only a mistyped `ovice_*` is ours.
                let name = message_type(text).unwrap_or_default().into_owned();
                if name.starts_with("ovice_") {
                    return self.refuse(object, "unknown_type", &ignored.reason, Some(&name), None);
                }
                return Vec::new();
            }
        };
        if let PluginToPlatform::BroadcastMessage(m) | PluginToPlatform::EmitMessage(m) = &message {
            let me = self.identity.as_ref().map(|i| i.id.as_source());
            let spoofed = meetbridge_protocol::sender::check(m, me.as_deref(), object)
                .err()
                .map(|e| e.to_string());
            if let Some(why) = spoofed {
                return self.refuse(
                    object,
                    ErrorCode::SpoofedSource.as_str(),
                    &why,
                    Some(message.name()),
                    Some(None),
                );
            }
        }
        // What changes something gets an id; reads are harmless to repeat.
        let id = matches!(
            message,
            PluginToPlatform::BroadcastMessage(_)
                | PluginToPlatform::EmitMessage(_)
                | PluginToPlatform::SaveAndEmitData(_)
        )
        .then(|| self.message_id());
        let req = self.req();
        if sent_request(&message).is_some() {
            if let Some(state) = self.objects.get_mut(object) {
                state.receipts.push_back(Receipt {
                    req: Some(req),
                    ready: None,
                });
            }
        }
        let out = Outgoing {
            req,
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
    use serde_json::{json, Value};

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
                Effect::Send { text: t } => Some(serde_json::from_str(t).unwrap()),
                _ => None,
            })
            .collect()
    }

    fn to_plugin(effects: &[Effect]) -> Vec<Value> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::ToPlugin { message, .. } => {
                    Some(serde_json::from_str(message.get()).unwrap())
                }
                _ => None,
            })
            .collect()
    }

    impl Core {
        /// `from_plugin` with the message given as a value (encoded as the glue would).
        fn plugin_value(&mut self, object: &str, origin: &str, v: Option<Value>) -> Vec<Effect> {
            let text = v.map(|v| v.to_string());
            self.from_plugin(object, origin, text.as_deref())
        }
    }

    /// Opens `object` and lets it load and listen, as a plugin that posts nothing yet.
    fn open_listening(core: &mut Core, object: &str, origin: Option<String>) {
        core.open_object(object, origin);
        let effects = core.frame_loaded(object);
        let Some(Effect::Timer { token, .. }) = effects.first() else {
            panic!("{effects:?}")
        };
        let token = *token;
        assert!(core
            .timer_fired(object, TimerKind::Listen, token)
            .is_empty());
    }

    const SERVER: &str = "ws://127.0.0.1:8080/ws";

    fn open_core() -> Core {
        let mut core = Core::new();
        core.set_servers(vec![SERVER.into()]).unwrap();
        open_listening(&mut core, "o1", Some(ORIGIN.into()));
        core.set_presence("o1", PresenceStatus::Subscribed);
        core.from_server(&welcome());
        core
    }

    #[test]
    fn queues_before_the_socket_and_sends_presence_first() {
        let mut core = Core::new();
        open_listening(&mut core, "o1", Some(ORIGIN.into()));
        let (_, effects) = core.set_presence("o1", PresenceStatus::Joined);
        assert!(sent(&effects).is_empty());
        let msg =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": 1}});
        assert!(core.plugin_value("o1", ORIGIN, Some(msg)).is_empty());
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
        let effects = core.plugin_value("o1", "https://evil.example", Some(msg.clone()));
        assert!(sent(&effects).is_empty() && to_plugin(&effects).is_empty());
        assert!(matches!(effects[0], Effect::Warn { .. }));
        assert_eq!(sent(&core.plugin_value("o1", ORIGIN, Some(msg))).len(), 1);
    }

    #[test]
    fn opaque_frames_must_post_from_null() {
        let mut core = Core::new();
        open_listening(&mut core, "o1", None);
        core.from_server(&welcome());
        let msg = json!({"type": "ovice_get_data"});
        assert!(sent(&core.plugin_value("o1", ORIGIN, Some(msg.clone()))).is_empty());
        assert_eq!(sent(&core.plugin_value("o1", "null", Some(msg))).len(), 1);
    }

    #[test]
    fn invalid_and_oversize_messages_get_an_error_and_go_no_further() {
        let mut core = open_core();
        let big = "x".repeat(meetbridge_protocol::limits::MAX_MESSAGE_BYTES);
        let msg =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": big}});
        let effects = core.plugin_value("o1", ORIGIN, Some(msg));
        assert!(sent(&effects).is_empty());
        let replies = to_plugin(&effects);
        assert_eq!(replies[0]["type"], "meetbridge_error");
        assert_eq!(replies[0]["payload"]["code"], "too_large");
        assert!(effects.iter().any(|e| matches!(e, Effect::Warn { .. })));

        let effects = core.plugin_value(
            "o1",
            ORIGIN,
            Some(json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 1}})),
        );
        assert_eq!(to_plugin(&effects)[0]["payload"]["code"], "invalid_message");
        let effects = core.plugin_value("o1", ORIGIN, Some(json!({"type": "ovice_get_dat"})));
        assert_eq!(to_plugin(&effects)[0]["payload"]["code"], "unknown_type");
        // Somebody else's postMessage traffic is not ours to answer.
        assert!(core
            .plugin_value("o1", ORIGIN, Some(json!({"hello": 1})))
            .is_empty());
    }

    #[test]
    fn spoofed_source_or_object_is_refused_locally() {
        let mut core = open_core();
        for payload in [
            json!({"event": "e", "message": 1, "source": "u2"}),
            json!({"event": "e", "message": 1, "objectId": "o2"}),
        ] {
            let effects = core.plugin_value(
                "o1",
                ORIGIN,
                Some(json!({"type": "ovice_broadcast_message", "payload": payload})),
            );
            assert!(sent(&effects).is_empty());
            assert_eq!(to_plugin(&effects)[0]["payload"]["code"], "spoofed_source");
        }
        let ok = json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": 1, "source": "u1", "objectId": "o1"}});
        assert_eq!(sent(&core.plugin_value("o1", ORIGIN, Some(ok))).len(), 1);
    }

    #[test]
    fn legacy_handshake_is_answered_here() {
        let mut core = Core::new();
        open_listening(&mut core, "o1", Some(ORIGIN.into()));
        let effects = core.plugin_value("o1", ORIGIN, Some(json!({"type": "ovice_ready"})));
        assert_eq!(
            to_plugin(&effects),
            vec![json!({"type": "ovice_confirmation"})]
        );
        assert_eq!(core.handshake("o1"), Handshake::Confirmed);
        assert!(core
            .plugin_value("o1", ORIGIN, Some(json!({"type": "ovice_ready_confirmed"})))
            .is_empty());
        assert_eq!(core.handshake("o1"), Handshake::Done);
        assert_eq!(core.pending(), 0);
    }

    #[test]
    fn a_page_that_received_nothing_resumes_from_where_it_arrived() {
        let mut core = Core::new();
        core.set_servers(vec![SERVER.into()]).unwrap();
        open_listening(&mut core, "o1", Some(ORIGIN.into()));
        core.set_presence("o1", PresenceStatus::Subscribed);
        let frames = sent(&core.from_server(&welcome()));
        let req = frames[0]["req"].as_u64().unwrap();
        // The server says the object was at 41 when this page arrived; nothing since.
        core.from_server(&json!({"op": "ack", "req": req, "seq": 41}).to_string());
        assert_eq!(core.max_seq("o1"), 41);
        core.closed(1006, "", 0.0, true);
        let frames = sent(&core.from_server(&welcome()));
        assert_eq!(frames[0]["op"], "presence");
        assert_eq!(
            frames[0]["since"], 41,
            "what was sent while away is replayed"
        );
        // A later presence ack never moves the resume point back.
        let req = frames[0]["req"].as_u64().unwrap();
        core.from_server(&json!({"op": "ack", "req": req, "seq": 7}).to_string());
        assert_eq!(core.max_seq("o1"), 41);
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
        let first = sent(&core.plugin_value("o1", ORIGIN, Some(json!({"type": "ovice_get_data"}))));
        let req = first[0]["req"].as_u64().unwrap();
        let (next, _) = core.closed(1006, "", 0.0, true);
        assert_eq!(
            next,
            AfterClose::Reconnect {
                url: SERVER.into(),
                delay_ms: 250
            }
        );
        // Offline: queued.
        let msg =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "late", "message": 2}});
        assert!(core.plugin_value("o1", ORIGIN, Some(msg)).is_empty());
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
        open_listening(&mut core, "o1", Some(ORIGIN.into()));
        core.set_presence("o1", PresenceStatus::Joined);
        core.from_server(&welcome());
        let broadcast =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": 1}});
        let save = json!({"type": "ovice_save_and_emit_data", "payload": {"v": 1}});
        let emit = json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 1, "to": "u2"}});
        let mut first = Vec::new();
        for msg in [broadcast, save, emit, json!({"type": "ovice_get_data"})] {
            first.extend(sent(&core.plugin_value("o1", ORIGIN, Some(msg))));
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
        core.closed(1006, "", 0.0, true);
        // Sent while offline: a new id, after the resends.
        let late =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "late", "message": 2}});
        assert!(core.plugin_value("o1", ORIGIN, Some(late)).is_empty());
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
        core.closed(1006, "", 0.0, true);
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
        let frames = sent(&core.plugin_value("o1", ORIGIN, Some(json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 1, "to": "nobody"}}))));
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
        assert_eq!(done, vec![Effect::PresenceDone { req, error: None }]);
        let (req, _) = core.set_presence("nope", PresenceStatus::Subscribed);
        let done = core.from_server(
            &json!({"op": "error", "req": req, "code": "unknown_object", "message": "no"})
                .to_string(),
        );
        assert!(matches!(
            done.last(),
            Some(Effect::PresenceDone { error: Some(_), .. })
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
        let frames = sent(&core.plugin_value("o1", ORIGIN, Some(ask)));
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
        core.closed(1006, "", 0.0, true);
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
        let frames = sent(&core.plugin_value("o1", ORIGIN, Some(ask)));
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
        let frames = sent(&core.plugin_value("o1", ORIGIN, Some(ask)));
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
        let req = sent(&core.plugin_value("o1", ORIGIN, Some(ask)))[0]["req"]
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

    fn timers(effects: &[Effect]) -> Vec<(TimerKind, u64)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Timer { timer, token, .. } => Some((*timer, *token)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sends_get_receipts_and_refusals_in_the_order_of_the_sends() {
        let mut core = open_core();
        let b = |n: i32| json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": n}});
        let first = sent(&core.plugin_value("o1", ORIGIN, Some(b(1))));
        let second = sent(&core.plugin_value("o1", ORIGIN, Some(json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 2, "to": "u2"}}))));
        // Refused here (empty event), but after the two in flight: held back.
        let local = core.plugin_value(
            "o1",
            ORIGIN,
            Some(
                json!({"type": "ovice_broadcast_message", "payload": {"event": "", "message": 3}}),
            ),
        );
        assert!(to_plugin(&local).is_empty());
        // The second is answered first: nothing yet, the first comes first.
        let r2 = second[0]["req"].as_u64().unwrap();
        let e2 = core.from_server(&json!({"op": "error", "req": r2, "object": "o1", "code": "recipient_not_member", "message": "no"}).to_string());
        assert!(to_plugin(&e2).is_empty());
        let r1 = first[0]["req"].as_u64().unwrap();
        let replies =
            to_plugin(&core.from_server(&json!({"op": "ack", "req": r1, "seq": 12}).to_string()));
        assert_eq!(replies.len(), 3, "{replies:?}");
        assert_eq!(
            replies[0],
            json!({"type": "meetbridge_sent", "payload": {"request": "ovice_broadcast_message", "seq": 12}})
        );
        assert_eq!(replies[1]["payload"]["refused"], "ovice_emit_message");
        assert_eq!(replies[2]["payload"]["code"], "invalid_message");
        // Saves and reads get no receipt.
        let save = sent(&core.plugin_value(
            "o1",
            ORIGIN,
            Some(json!({"type": "ovice_save_and_emit_data", "payload": {"a": 1}})),
        ));
        let ack = core.from_server(&json!({"op": "ack", "req": save[0]["req"]}).to_string());
        assert!(to_plugin(&ack).is_empty());
    }

    #[test]
    fn a_plugin_gets_nothing_until_it_listens_then_everything_in_order() {
        let mut core = Core::new();
        core.open_object("o1", Some(ORIGIN.into()));
        core.set_presence("o1", PresenceStatus::Subscribed);
        core.from_server(&welcome());
        let event = |n: u64| {
            json!({"op": "plugin", "object": "o1", "seq": n, "message": {"type": "ovice_message",
            "payload": {"source": "u2", "event": "e", "objectId": "o1", "message": n}}})
            .to_string()
        };
        assert!(to_plugin(&core.from_server(&event(1))).is_empty());
        let loaded = core.frame_loaded("o1");
        assert!(to_plugin(&loaded).is_empty());
        let [(TimerKind::Listen, token)] = timers(&loaded)[..] else {
            panic!("{loaded:?}")
        };
        assert!(to_plugin(&core.from_server(&event(2))).is_empty());
        // Its first message shows it listens: what was held goes first, in order.
        let effects = core.plugin_value(
            "o1",
            ORIGIN,
            Some(json!({"type": "ovice_get_participants"})),
        );
        let got: Vec<Value> = to_plugin(&effects)
            .iter()
            .map(|m| m["payload"]["message"].clone())
            .collect();
        assert_eq!(got, [json!(1), json!(2)]);
        assert_eq!(sent(&effects).len(), 1);
        // The listen timer, late, changes nothing.
        assert!(core.timer_fired("o1", TimerKind::Listen, token).is_empty());
        assert_eq!(to_plugin(&core.from_server(&event(3))).len(), 1);

        // A plugin that never posts gets its events when the listen timeout passes.
        open_listening(&mut core, "o2", Some(ORIGIN.into()));
        let mut quiet = Core::new();
        quiet.open_object("o1", Some(ORIGIN.into()));
        quiet.from_server(&welcome());
        quiet.from_server(&event(1));
        let [(_, token)] = timers(&quiet.frame_loaded("o1"))[..] else {
            panic!()
        };
        assert_eq!(
            to_plugin(&quiet.timer_fired("o1", TimerKind::Listen, token)).len(),
            1
        );
    }

    #[test]
    fn a_leaving_plugin_hears_its_departure_may_still_send_and_goes_when_quiet() {
        let mut core = open_core();
        let (req, _) = core.set_presence("o1", PresenceStatus::Unsubscribed);
        let closing = core.close_object("o1", 5000);
        assert!(matches!(
            &closing[0],
            Effect::Event {
                event: HostEvent::Leaving { grace_ms: 5000, .. }
            }
        ));
        assert!(core.is_leaving("o1"));
        let ts = timers(&closing);
        let quiet = ts.iter().find(|(k, _)| *k == TimerKind::Quiet).unwrap().1;
        let grace = ts.iter().find(|(k, _)| *k == TimerKind::Grace).unwrap().1;
        // Its own departure still reaches it.
        let own = json!({"op": "plugin", "object": "o1", "message": {"type": "ovice_participant_unsubscribed",
            "payload": {"id": "u1", "name": "Ann", "objectId": "o1", "objectType": "static", "avatarUrl": "", "workspaceId": "w", "isSelf": true, "isVisitor": false}}});
        let effects = core.from_server(&own.to_string());
        assert_eq!(
            to_plugin(&effects)[0]["type"],
            "ovice_participant_unsubscribed"
        );
        // The presence change is not answered yet: not idle.
        let later = core.timer_fired("o1", TimerKind::Quiet, quiet);
        assert!(!later
            .iter()
            .any(|e| matches!(e, Effect::RemoveFrame { .. })));
        core.from_server(&json!({"op": "ack", "req": req}).to_string());
        // It hands its document over before it goes: sent, answered, then quiet.
        let save = sent(&core.plugin_value(
            "o1",
            ORIGIN,
            Some(json!({"type": "ovice_save_and_emit_data", "payload": {"v": 1}})),
        ));
        assert_eq!(save.len(), 1);
        let newest = |effects: &[Effect]| {
            timers(effects)
                .into_iter()
                .rev()
                .find(|(k, _)| *k == TimerKind::Quiet)
                .map(|(_, t)| t)
        };
        let ack = core.from_server(&json!({"op": "ack", "req": save[0]["req"]}).to_string());
        let token = newest(&ack).expect("activity restarts the quiet timer");
        // An older quiet timer is ignored.
        assert!(core.timer_fired("o1", TimerKind::Quiet, quiet).is_empty());
        let gone = core.timer_fired("o1", TimerKind::Quiet, token);
        assert!(
            matches!(&gone[0], Effect::RemoveFrame { object } if object == "o1"),
            "{gone:?}"
        );
        assert!(!core.is_leaving("o1"));
        assert!(core.timer_fired("o1", TimerKind::Grace, grace).is_empty());
    }

    #[test]
    fn a_busy_leaving_plugin_goes_when_its_grace_period_ends_and_grace_zero_goes_at_once() {
        let mut core = open_core();
        let closing = core.close_object("o1", 2000);
        let grace = timers(&closing)
            .into_iter()
            .find(|(k, _)| *k == TimerKind::Grace)
            .unwrap()
            .1;
        core.closed(1006, "", 0.0, true); // offline: its save stays queued
        core.plugin_value(
            "o1",
            ORIGIN,
            Some(json!({"type": "ovice_save_and_emit_data", "payload": {"v": 1}})),
        );
        let gone = core.timer_fired("o1", TimerKind::Grace, grace);
        assert!(matches!(&gone[0], Effect::RemoveFrame { .. }));
        let mut core = open_core();
        let now = core.close_object("o1", 0);
        assert!(matches!(&now[0], Effect::RemoveFrame { .. }));
    }

    fn events(effects: &[Effect]) -> Vec<&HostEvent> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Event { event } => Some(event),
                _ => None,
            })
            .collect()
    }

    fn relayed(seq: u64) -> String {
        json!({"op": "plugin", "object": "o1", "seq": seq, "message": {"type": "ovice_message",
               "payload": {"source": "u2", "event": "e", "objectId": "o1", "message": seq}}})
        .to_string()
    }

    #[test]
    fn a_4401_asks_for_a_fresh_token_and_resumes_without_loss_or_duplicates() {
        let mut core = Core::with_id_prefix("pg");
        core.set_servers(vec![SERVER.into(), "ws://127.0.0.2:8080/ws".into()])
            .unwrap();
        open_listening(&mut core, "o1", Some(ORIGIN.into()));
        core.set_presence("o1", PresenceStatus::Joined);
        core.from_server(&welcome());
        core.from_server(&relayed(5));
        let before = sent(&core.plugin_value(
            "o1",
            ORIGIN,
            Some(
                json!({"type": "ovice_broadcast_message", "payload": {"event": "a", "message": 1}}),
            ),
        ));
        assert_eq!(before[0]["id"], "pg-1");
        // The token expires with the broadcast unacknowledged.
        let (next, effects) = core.closed(
            4401,
            "token expired: reconnect with a fresh token",
            0.0,
            true,
        );
        assert_eq!(
            next,
            AfterClose::RefreshToken {
                reason: "token expired: reconnect with a fresh token".into()
            }
        );
        assert!(matches!(
            events(&effects)[..],
            [HostEvent::State {
                state: ConnState::Closed,
                retry_in_ms: None
            }]
        ));
        // Sent while the page fetches a token: queued.
        let during =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "b", "message": 2}});
        assert!(core.plugin_value("o1", ORIGIN, Some(during)).is_empty());
        // A fresh token: the same server (a 4401 is no reason to leave it), at once.
        let (next, _) = core.token_refreshed(true, "");
        assert_eq!(
            next,
            AfterClose::Reconnect {
                url: SERVER.into(),
                delay_ms: 0
            }
        );
        let frames = sent(&core.from_server(&welcome()));
        assert_eq!(frames[0]["op"], "presence");
        assert_eq!(frames[0]["since"], 5, "resumes after what it saw");
        let resent: Vec<(&Value, &Value)> = frames[1..]
            .iter()
            .map(|f| (&f["id"], &f["message"]["payload"]["event"]))
            .collect();
        assert_eq!(
            resent,
            [(&json!("pg-1"), &json!("a")), (&json!("pg-2"), &json!("b"))],
            "the unacknowledged one with its id, then the queued one, once each"
        );
        // The replay overlapping seq 5 is dropped; 6 is new.
        assert!(to_plugin(&core.from_server(&relayed(5))).is_empty());
        assert_eq!(to_plugin(&core.from_server(&relayed(6))).len(), 1);
    }

    #[test]
    fn no_fresh_token_or_too_many_refused_ends_the_session_in_words() {
        let mut core = open_core();
        core.closed(4401, "token revoked", 0.0, true);
        let (next, effects) = core.token_refreshed(false, "token revoked");
        assert_eq!(next, AfterClose::Stay);
        let ended = events(&effects);
        assert!(
            matches!(ended[..], [HostEvent::SessionEnded { ref reason }] if reason == "token revoked, and no fresh token was given"),
            "{ended:?}"
        );
        // A callback that keeps handing out tokens the server refuses: asked three times.
        let mut core = open_core();
        for _ in 0..MAX_TOKEN_REFUSALS {
            let (next, _) = core.closed(4401, "unauthorized", 0.0, true);
            assert!(matches!(next, AfterClose::RefreshToken { .. }));
            core.token_refreshed(true, "");
        }
        let (next, effects) = core.closed(4401, "unauthorized", 0.0, true);
        assert_eq!(next, AfterClose::Stay);
        assert!(events(&effects)
            .iter()
            .any(|e| matches!(e, HostEvent::SessionEnded { reason } if reason.contains("refused 3 fresh tokens"))));
        // A welcome in between starts the count again.
        let mut core = open_core();
        for _ in 0..5 {
            core.closed(4401, "token expired", 0.0, true);
            core.token_refreshed(true, "");
            core.from_server(&welcome());
        }
        assert!(core.is_open());
        // The page disconnecting is no reason to ask for anything.
        assert_eq!(core.closed(4401, "", 0.0, false).0, AfterClose::Stay);
    }

    #[test]
    fn a_dead_server_is_skipped_for_the_next_of_the_list_which_is_resumed_with_since() {
        let (a, b) = ("ws://a.example/ws", "ws://b.example/ws");
        let mut core = Core::new();
        core.set_servers(vec![a.into(), b.into()]).unwrap();
        assert_eq!(core.server_url(), Some(a));
        open_listening(&mut core, "o1", Some(ORIGIN.into()));
        core.set_presence("o1", PresenceStatus::Subscribed);
        core.from_server(&welcome());
        core.from_server(&relayed(7));
        let reconnect = |core: &mut Core| match core.closed(1006, "", 0.0, true).0 {
            AfterClose::Reconnect { url, delay_ms } => (url, delay_ms),
            other => panic!("{other:?}"),
        };
        // A dies: B next; B does not answer either: A again, each first round at 250 ms,
        // then the backoff grows once per round of the list.
        assert_eq!(reconnect(&mut core), (b.into(), 250));
        assert_eq!(reconnect(&mut core), (a.into(), 250));
        assert_eq!(reconnect(&mut core), (b.into(), 500));
        assert_eq!(core.server_url(), Some(b));
        let frames = sent(&core.from_server(&welcome()));
        assert_eq!(
            (&frames[0]["op"], &frames[0]["since"]),
            (&json!("presence"), &json!(7))
        );
        // A welcome resets the backoff.
        assert_eq!(reconnect(&mut core), (a.into(), 250));
        // One URL (a load balancer): always that one.
        let mut one = open_core();
        assert_eq!(reconnect(&mut one), (SERVER.into(), 250));
        assert_eq!(reconnect(&mut one), (SERVER.into(), 500));
        assert!(core
            .set_servers(vec!["http://a.example/ws".into()])
            .is_err());
    }

    #[test]
    fn plugin_urls_are_checked_with_the_servers_policy_before_an_iframe() {
        let core = Core::new();
        for ok in [
            "/plugins/notes/",
            "https://plugins.example/p/",
            "http://127.0.0.1:9/p/",
        ] {
            assert!(core.check_frame_url("o1", ok, false).is_empty(), "{ok}");
        }
        assert!(core
            .check_frame_url("o1", "http://intranet.example/p/", true)
            .is_empty());
        for (bad, words) in [
            ("javascript:alert(document.domain)", "`javascript:` scheme"),
            (" javascript:alert(1)", "spaces or control"),
            ("data:text/html,<script>1</script>", "`data:` scheme"),
            ("//evil.example/p", "starts with //"),
            ("http://intranet.example/p/", "plain http://"),
            (meetbridge_protocol::plugin_url::FLOOR_URL, "the floor"),
        ] {
            let effects = core.check_frame_url("o1", bad, false);
            let refused = events(&effects);
            match refused[..] {
                [HostEvent::Refused {
                    ref object,
                    ref code,
                    ref message,
                    ref refused,
                }] => {
                    assert_eq!((object.as_str(), code.as_str()), ("o1", PLUGIN_URL_REFUSED));
                    assert_eq!(refused.as_deref(), Some("pluginUrl"));
                    assert!(
                        message.starts_with("the plugin of object o1 was not opened: `pluginUrl` "),
                        "{message}"
                    );
                    assert!(message.contains(words), "{bad}: {message}");
                }
                _ => panic!("{bad}: {effects:?}"),
            }
        }
    }

    #[test]
    fn floor_changes_reach_the_page_and_nothing_else() {
        let mut core = open_core();
        let frame = json!({"op": "floor", "change": "removed", "space": "s", "id": "o9"});
        let effects = core.from_server(&frame.to_string());
        assert!(sent(&effects).is_empty() && to_plugin(&effects).is_empty());
        let [Effect::Event { event }] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(
            serde_json::to_value(event).unwrap(),
            json!({"kind": "floor", "change": "removed", "space": "s", "id": "o9"})
        );
        // A floor frame the core cannot read is warned about, not delivered.
        let bad = json!({"op": "floor", "change": "moved", "space": "s"});
        let effects = core.from_server(&bad.to_string());
        assert!(matches!(&effects[..], [Effect::Warn { .. }]), "{effects:?}");
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
            Some("allow-scripts allow-forms allow-modals allow-popups allow-popups-to-escape-sandbox allow-downloads")
        );
        assert_eq!(p.allow, DEFAULT_ALLOW);
        assert_eq!(p.origin, None);
        let p = frame_policy(None, "https://plugin", "https://a");
        assert_eq!(p.sandbox.as_deref(), Some(DEFAULT_SANDBOX));
        assert_eq!(p.origin.as_deref(), Some("https://plugin"));
        // Asked for explicitly, it is still dropped: the page's origin is never shared
        // with a plugin that runs scripts.
        let p = frame_policy(
            Some(Some("allow-scripts allow-same-origin allow-modals")),
            "https://a",
            "https://a",
        );
        assert_eq!(p.sandbox.as_deref(), Some("allow-scripts allow-modals"));
        assert!(p.warning.is_some());
        assert_eq!(p.origin, None);
        // Without scripts it cannot act on the page: kept.
        let p = frame_policy(Some(Some("allow-same-origin")), "https://a", "https://a");
        assert_eq!(p.sandbox.as_deref(), Some("allow-same-origin"));
        assert_eq!(p.origin.as_deref(), Some("https://a"));
        // No sandbox at all is the page's deliberate choice: honoured, with a warning.
        let p = frame_policy(Some(None), "https://a", "https://a");
        assert_eq!(p.sandbox, None);
        assert!(p.warning.is_some());
        let p = frame_policy(Some(None), "https://plugin", "https://a");
        assert_eq!(
            (p.sandbox, p.origin.as_deref()),
            (None, Some("https://plugin"))
        );
        let p = frame_policy(Some(Some("allow-scripts")), "https://plugin", "https://a");
        assert_eq!(p.origin, None);
    }
}
