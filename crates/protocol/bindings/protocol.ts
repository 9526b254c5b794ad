// Generated from crates/protocol by `make bindings`. Do not edit by hand.
// The single definition of meetbridge's wire contracts; see crates/protocol.

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

// ---- Parse outcomes ----

export type Ignored = { reason: string, };

export type Invalid = { 
/**
 * The action or event name, when it could be read.
 */
name?: string, 
/**
 * Dotted path of the offending field (`""` for the message as a whole).
 */
field: string, 
/**
 * What was wrong, in words.
 */
error: string, 
/**
 * Whether the shape was wrong or a size limit was crossed: callers switch on this,
 * never on the words.
 */
kind?: InvalidKind, };

export type InvalidKind = "malformed" | "over_limit";

// ---- Pexip Web App 3 external-chat plugin ----

export type PluginToTop = { "action": "pexip:plugin:external-chat/ready" } | { "action": "pexip:plugin:external-chat/connected" } | { "action": "pexip:plugin:external-chat/disconnected" } & Disconnected | { "action": "pexip:plugin:external-chat/toggle-chat" } & ToggleChat | { "action": "pexip:plugin:external-chat/dial-out-success" } & DialOutSuccess | { "action": "pexip:plugin:external-chat/dial-out-error" } & DialOutError;

export type TopToPlugin = { "action": "pexip:plugin:external-chat/toggle-chat-button-state" } & ToggleChatButtonState | { "action": "pexip:plugin:external-chat/toggle-chat-badge" } & ToggleChatBadge | { "action": "pexip:plugin:external-chat/dial-out" } & DialOut;

export type Disconnected = { 
/**
 * True when the user clicked Leave; false for an involuntary drop.
 */
userInitiated: boolean, 
/**
 * Set on an involuntary drop.
 */
error?: string, 
/**
 * Set on an involuntary drop.
 */
errorCode?: string, };

export type ToggleChat = { 
/**
 * The requested state: the opposite of the button's current one.
 */
active: boolean, };

export type DialOutSuccess = { uuid: string, displayName?: string, 
/**
 * Echo of the `requestId` of the `dial-out` (extension).
 */
requestId?: string, };

export type DialOutError = { message: string, 
/**
 * Echo of the `requestId` of the `dial-out` (extension).
 */
requestId?: string, 
/**
 * The dial parameter that was refused, when the error is a validation error (extension).
 */
field?: string, };

export type ToggleChatButtonState = { active: boolean, };

export type ToggleChatBadge = { visible: boolean, };

export type DialOut = { 
/**
 * Correlates the reply with this request (extension).
 */
requestId?: string, 
/**
 * Milliseconds after which an unanswered dial-out is reported as failed (extension).
 */
timeoutMs?: number, 
/**
 * Privilege level of the dialed participant.
 */
role: Role, 
/**
 * The target address to call.
 */
destination: string, 
/**
 * Protocol used to place the call.
 */
protocol: DialProtocol, 
/**
 * Limits the media content of the call.
 */
call_type?: CallType, 
/**
 * For RTMP calls, sends presentation to a separate destination.
 */
presentation_url?: string, 
/**
 * Marks the participant as a streaming/recording device.
 */
streaming?: Streaming, 
/**
 * DTMF tones to send once the call connects.
 */
dtmf_sequence?: string, 
/**
 * Source URI (must be valid for the conference).
 */
source?: string, 
/**
 * Calling display name.
 */
source_display_name?: string, 
/**
 * Friendly name shown in participant lists / overlays.
 */
remote_display_name?: string, 
/**
 * Overlay text used instead of `remote_display_name`.
 */
text?: string, 
/**
 * Whether the conference continues after others leave.
 */
keep_conference_alive?: KeepConferenceAlive, };

export type DialOutParams = { 
/**
 * Privilege level of the dialed participant.
 */
role: Role, 
/**
 * The target address to call.
 */
destination: string, 
/**
 * Protocol used to place the call.
 */
protocol: DialProtocol, 
/**
 * Limits the media content of the call.
 */
call_type?: CallType, 
/**
 * For RTMP calls, sends presentation to a separate destination.
 */
presentation_url?: string, 
/**
 * Marks the participant as a streaming/recording device.
 */
streaming?: Streaming, 
/**
 * DTMF tones to send once the call connects.
 */
dtmf_sequence?: string, 
/**
 * Source URI (must be valid for the conference).
 */
source?: string, 
/**
 * Calling display name.
 */
source_display_name?: string, 
/**
 * Friendly name shown in participant lists / overlays.
 */
remote_display_name?: string, 
/**
 * Overlay text used instead of `remote_display_name`.
 */
text?: string, 
/**
 * Whether the conference continues after others leave.
 */
keep_conference_alive?: KeepConferenceAlive, };

export type Role = "HOST" | "GUEST";

export type DialProtocol = "sip" | "h323" | "rtmp" | "mssip" | "auto";

export type CallType = "video" | "video-only" | "audio";

export type Streaming = "yes" | "no";

export type KeepConferenceAlive = "keep_conference_alive" | "keep_conference_alive_if_multiple" | "keep_conference_alive_never";

// ---- The external-chat plugin's rocketchat:videoconf/* dialect ----

export type VideoconfPluginToTop = { "action": "rocketchat:videoconf/ready" } & Ready | { "action": "rocketchat:videoconf/connected" } | { "action": "rocketchat:videoconf/disconnected" } & Disconnected | { "action": "rocketchat:videoconf/toggle-chat" } & ToggleChat | { "action": "rocketchat:videoconf/self" } & SelfState | { "action": "rocketchat:videoconf/roster" } & Roster | { "action": "rocketchat:videoconf/dial-out-success" } & DialOutSuccess | { "action": "rocketchat:videoconf/dial-out-error" } & DialOutError;

export type VideoconfTopToPlugin = { "action": "rocketchat:videoconf/chat-state" } & ChatState | { "action": "rocketchat:videoconf/chat-unread" } & ChatUnread | { "action": "rocketchat:videoconf/participants-state" } & ParticipantsState | { "action": "rocketchat:videoconf/mute" } & Mute | { "action": "rocketchat:videoconf/mute-video" } & Mute | { "action": "rocketchat:videoconf/admit" } & ParticipantRef | { "action": "rocketchat:videoconf/disconnect" } & ParticipantRef | { "action": "rocketchat:videoconf/spotlight" } & Spotlight | { "action": "rocketchat:videoconf/raise-hand" } & RaiseHand | { "action": "rocketchat:videoconf/set-role" } & SetRole | { "action": "rocketchat:videoconf/transfer" } & Transfer | { "action": "rocketchat:videoconf/dtmf" } & Dtmf | { "action": "rocketchat:videoconf/mute-all-guests" } & MuteAllGuests | { "action": "rocketchat:videoconf/dial-out" } & DialOut;

export type Dialect = "external-chat" | "videoconf";

export type Feature = "chat" | "dial-out" | "roster" | "mute" | "mute-video" | "admit" | "disconnect" | "spotlight" | "raise-hand" | "set-role" | "transfer" | "dtmf" | "mute-all-guests";

export type Ready = { 
/**
 * Feature names ([`Feature::name`]); names this crate does not know are kept.
 */
features: Array<string>, };

export type SelfState = { participantUuid: string, 
/**
 * Muted by the server (Infinity).
 */
micMuted: boolean, camMuted: boolean, 
/**
 * Muted in the client only.
 */
clientMuted: boolean, isHost: boolean, canControl: boolean, };

export type Roster = { participants: Array<RosterParticipant>, };

export type RosterParticipant = { uuid: string, displayName: string, 
/**
 * In the lobby, waiting to be admitted.
 */
isWaiting: boolean, isHost: boolean, isMuted: boolean, isClientMuted: boolean, isCameraMuted: boolean, isPresenting: boolean, isSpotlight: boolean, raisedHand: boolean, 
/**
 * What the local participant may do to this one.
 */
can: Can, };

export type Can = { control: boolean, mute: boolean, disconnect: boolean, transfer: boolean, spotlight: boolean, fecc: boolean, raiseHand: boolean, changeLayout: boolean, };

export type ChatState = { active: boolean, };

export type ChatUnread = { unread: Unread, };

export type Unread = boolean | number;

export type ParticipantsState = { active: boolean, };

export type Mute = { participantUuid?: string, muted: boolean, };

export type ParticipantRef = { participantUuid: string, };

export type Spotlight = { participantUuid: string, active: boolean, };

export type RaiseHand = { participantUuid?: string, raised: boolean, };

export type ParticipantRole = "host" | "guest";

export type SetRole = { participantUuid: string, role: ParticipantRole, };

export type Transfer = { participantUuid: string, alias: string, role?: ParticipantRole, pin?: string, };

export type Dtmf = { participantUuid: string, digits: string, };

export type MuteAllGuests = { muted: boolean, };

// ---- oVice custom plugins (older wire formats: Legacy*) ----

export type PluginToPlatform = { "type": "ovice_get_participants" } | { "type": "ovice_broadcast_message", "payload": OutgoingMessage } | { "type": "ovice_emit_message", "payload": OutgoingMessage } | { "type": "ovice_get_data" } | { "type": "ovice_save_and_emit_data", "payload": { [key in string]: JsonValue } } | { "type": "meetbridge_get_history", "payload": HistoryRequest };

export type PlatformToPlugin = { "type": "ovice_participants", "payload": Array<Participant> } | { "type": "ovice_participant_subscribed", "payload": Participant } | { "type": "ovice_participant_unsubscribed", "payload": Participant } | { "type": "ovice_participant_joined", "payload": Participant } | { "type": "ovice_participant_left", "payload": Participant } | { "type": "ovice_message", "payload": RelayedMessage } | { "type": "ovice_saved_data", "payload": { [key in string]: JsonValue } } | { "type": "ovice_shared_data", "payload": { [key in string]: JsonValue } } | { "type": "ovice_data_saved_success", "payload": SavedSuccess } | { "type": "meetbridge_error", "payload": PluginError } | { "type": "meetbridge_history", "payload": HistoryPage } | { "type": "meetbridge_sent", "payload": SentReceipt };

export type Participant = { 
/**
 * Unique identifier of the user (string or integer).
 */
id: UserId, 
/**
 * Given only when the organisation's owner allows it.
 */
email?: string, name: string, objectId: string, objectType: ObjectType, avatarUrl: string, 
/**
 * Workspace of the user (the seed's examples use a string and a number).
 */
workspaceId: StringOrNumber, isHost?: boolean, isSelf?: boolean, isVisitor: boolean, status?: PresenceStatus, language?: string, };

export type UserId = string | number;

export type StringOrNumber = string | number;

export type ObjectType = "static" | "dynamic";

export type PresenceStatus = "subscribed" | "joined" | "left" | "unsubscribed";

export type OutgoingMessage = { 
/**
 * The sender's user id; filled in by the platform, refused if it is not the sender.
 */
source?: string, 
/**
 * The plugin's own event name.
 */
event: string, 
/**
 * The object; filled in by the platform, refused if it is another object.
 */
objectId?: string, 
/**
 * Any JSON value, as the plugin wrote it (absent: `null`). The whole payload counts
 * toward [`MAX_MESSAGE_BYTES`].
 */
message: JsonValue, 
/**
 * The recipient's user id: required for emit, absent for broadcast.
 */
to?: string, };

export type RelayedMessage = { source: string, event: string, objectId: string, 
/**
 * The sender's `message`, exactly as it was sent.
 */
message: JsonValue, 
/**
 * Set when the message was an emit to one user.
 */
to?: string, };

export type SavedSuccess = { 
/**
 * Seconds since the Unix epoch.
 */
updated_at?: number, } & ({ [key in string]: JsonValue });

export type PluginError = { 
/**
 * A stable machine-readable code (see `bridge::ErrorCode`).
 */
code: string, 
/**
 * Human-readable explanation.
 */
message: string, 
/**
 * The type of the refused message, when known.
 */
refused?: string, };

export type HistoryRequest = { 
/**
 * Only messages with a sequence number above this one (default: the whole window).
 */
since?: number, 
/**
 * At most this many messages (the server caps it).
 */
limit?: number, 
/**
 * Page backwards: only messages below this sequence number (a previous reply's `from`).
 */
before?: number, 
/**
 * Page backwards from the newest message (implied by `before`).
 */
backward?: boolean, };

export type HistoryEntry = { seq: number, message: RelayedMessage, };

export type HistoryPage = { entries: Array<HistoryEntry>, 
/**
 * The highest sequence number this page covers: ask again with `since` = `upto` when
 * `more` is set.
 */
upto: number, 
/**
 * A forward page was cut at `limit`: later messages exist.
 */
more: boolean, 
/**
 * On a backward page: the lowest sequence number it covers; ask with `before` = this
 * for the page before it.
 */
from?: number, 
/**
 * A backward page reaches the oldest message retained: there is nothing earlier to load.
 */
start: boolean, 
/**
 * Messages `[from, to]` were past the history window and are lost.
 */
missed?: [number, number], };

export type SentReceipt = { 
/**
 * What was sent.
 */
request: SentRequest, 
/**
 * The sequence number the platform gave the message (its place in the history).
 */
seq?: number, };

export type SentRequest = "ovice_broadcast_message" | "ovice_emit_message";

export type LegacyHandshake = { "type": "ovice_ready" } | { "type": "ovice_ready_confirmed" };

export type LegacyToPlugin = { "type": "ovice_confirmation" };

// ---- Bridge: host runtime <-> server WebSocket frames ----

export type ClientFrame = { "op": "presence" } & PresenceFrame | { "op": "plugin" } & PluginFrame | { "op": "history" } & HistoryFrame | { "op": "ping" } & PingFrame;

export type PresenceFrame = { req?: number, object: string, status: PresenceStatus, since?: number, };

export type PluginFrame = { req?: number, object: string, 
/**
 * Client-chosen message id, unique per user (1 to [`MAX_MESSAGE_ID_BYTES`] bytes):
 * a frame sent again with the same id is answered as the first time and not acted on
 * again, as long as the server remembers the id (see the module docs). The id alone
 * decides, even if the message differs.
 */
id?: string, message: PluginToPlatform, };

export type HistoryFrame = { req?: number, object: string, since?: number, limit?: number, 
/**
 * Page backwards from just below this sequence number (a previous answer's `from`).
 */
before?: number, 
/**
 * Page backwards from the newest message (implied by `before`).
 */
backward?: boolean, };

export type PingFrame = { req?: number, };

export type ServerFrame = { "op": "welcome" } & Welcome | { "op": "ack" } & Ack | { "op": "plugin" } & ServerPluginFrame | { "op": "missed" } & Missed | { "op": "error" } & ErrorFrame | { "op": "pong" } & PingFrame | { "op": "floor" } & FloorFrame;

export type Welcome = { participant: Identity, limits: Limits, };

export type Identity = { id: UserId, name: string, avatarUrl: string, workspaceId: StringOrNumber, language?: string, email?: string, isVisitor: boolean, };

export type Limits = { maxMessageBytes: number, maxDataBytes: number, 
/**
 * Frames per second allowed on one connection before `rate_limited`.
 */
maxFramesPerSecond: number, };

export type ServerInfo = { 
/**
 * Whether the demo server's `POST /api/dev/login` is on.
 */
devLogin: boolean, 
/**
 * The demo space, when the server runs the demo.
 */
demoSpace: string | null, 
/**
 * The WebSocket's path.
 */
ws: string, 
/**
 * The WebSocket URLs to try in order (the nodes of a cluster, `--ws-url`); empty: `ws`
 * on this server.
 */
servers: Array<string>, 
/**
 * The first subprotocol of the WebSocket (the token travels as the second).
 */
subprotocol: string, 
/**
 * Whether plain `http:` plugin URLs beyond loopback are accepted
 * (`--allow-http-plugins`): the host runtime applies the same plugin URL policy.
 */
allowHttpPlugins: boolean, limits: Limits, };

export type Ack = { req: number, seq?: number, 
/**
 * On a backward `history` request: the lowest sequence number the answer covers (the
 * `before` of the page before it).
 */
from?: number, 
/**
 * On a backward `history` request: the answer reaches the oldest message retained.
 */
start?: boolean, };

export type ServerPluginFrame = { object: string, seq?: number, message: PlatformToPlugin, };

export type Missed = { object: string, from: number, to: number, };

export type ErrorFrame = { req?: number, object?: string, code: ErrorCode, message: string, 
/**
 * The offending field, for `bad_frame` / `invalid_message` / `too_large`.
 */
field?: string, };

export type ErrorCode = "bad_frame" | "invalid_message" | "too_large" | "unknown_object" | "not_member" | "recipient_not_member" | "spoofed_source" | "rate_limited" | "unauthorized" | "internal";

export type HostErrorCode = "unknown_type" | "missed_messages";

// ---- Spaces and objects (HTTP API, store, the live floor frame) ----

export type FloorFrame = { "change": "added", space: string, object: ObjectDef, } | { "change": "updated", space: string, object: ObjectDef, } | { "change": "removed", space: string, id: string, } | { "change": "space_updated", space: string, def: SpaceDef, } | { "change": "space_removed", space: string, };

export type Position = { 
/**
 * `0..=FLOOR_WIDTH`.
 */
x: number, 
/**
 * `0..=FLOOR_HEIGHT`.
 */
y: number, };

export type SpaceDef = { id: string, name: string, createdAt: number, settings: SpaceSettings, };

export type SpaceSettings = { 
/**
 * Who may create dynamic objects (meetings) in the space through the participant API.
 */
createDynamic: CreateDynamic, 
/**
 * When non-empty, the only origins (`https://plugins.example.com`) an absolute plugin
 * URL of the space may have; paths on this server are always allowed.
 */
pluginOrigins: Array<string>, };

export type CreateDynamic = "members" | "owners" | "admins";

export type ObjectDef = { id: string, spaceId: string, name: string, objectType: ObjectType, 
/**
 * The plugin page loaded in the object's iframe.
 */
pluginUrl: string, settings: ObjectSettings, 
/**
 * For dynamic objects: the user id of the creator, who is the object's host.
 */
creator?: string, createdAt: number, 
/**
 * Where the object stands on the floor; absent until placed (the page lays it out).
 */
position?: Position, };

export type ObjectSettings = { 
/**
 * Whether participants' e-mail addresses are given to the plugin (only when the owner
 * allows it). Off unless set.
 */
shareEmail: boolean, 
/**
 * How much of the object's message history is kept; unset parts take the server's
 * defaults.
 */
retention?: Retention, 
/**
 * The iframe's `sandbox` tokens, a subset of [`DEFAULT_SANDBOX`]; absent: the default.
 */
sandbox?: Array<string>, 
/**
 * The iframe's `allow` features, a subset of [`DEFAULT_ALLOW`]; absent: the default,
 * empty: none.
 */
allow?: Array<string>, };

export type Retention = { maxMessages?: number, maxAgeSecs?: number, maxBytes?: number, };

export type SpaceView = { space: SpaceDef, objects: Array<ObjectDef>, mayCreateDynamic: boolean, };

export type PresenceView = { space: string, objects: Array<ObjectPresence>, };

export type ObjectPresence = { object: string, name: string, participants: Array<PresentParticipant>, };

export type PresentParticipant = { id: UserId, name: string, status: PresenceStatus, 
/**
 * How many of the user's sockets are on the object (tabs, devices).
 */
connections: number, };

export type ApiErrorCode = "bad_request" | "unauthorized" | "forbidden" | "not_found" | "conflict" | "create_not_allowed" | "quota_exceeded" | "unavailable" | "internal";

export type ApiErrorBody = { error: ApiErrorCode, message: string, field?: string, };

// ---- Limits ----

export const MAX_MESSAGE_BYTES = 2097152;
export const MAX_DATA_BYTES = 512000;
export const PEXIP_ACTION_PREFIX = "pexip:plugin:external-chat/";
export const PEXIP_PLUGIN_ID = "external-chat";
export const VIDEOCONF_ACTION_PREFIX = "rocketchat:videoconf/";
export const MAX_DTMF_CHARS = 128;
export const FLOOR_WIDTH = 760;
export const FLOOR_HEIGHT = 520;
export const DEFAULT_SANDBOX = "allow-scripts allow-same-origin allow-forms allow-modals allow-popups allow-popups-to-escape-sandbox allow-downloads";
export const DEFAULT_ALLOW = "clipboard-read; clipboard-write; fullscreen; autoplay";
