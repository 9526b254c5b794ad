// The meeting page: the top window of the external-chat plugin. It embeds Web App 3 in iframe#webapp3 and
// talks to its external-chat plugin through ExternalChatHost (crates/meeting-host), and it
// hosts the chat room plugin (web/plugins/chatroom) beside it through the host runtime
// (crates/space-host), as an object of the space tied to this meeting.
//
//   ?meeting=<id>   the meeting; its chat is the object <id> (created on first visit by
//                   someone the space lets start meetings, who is then its host and may
//                   dial participants in; anyone else is told the meeting does not exist)
//   ?name=<name>    skip the dev login form
//   ?webapp3=<url>  a real Web App 3 URL (default: the stand-in, on the other loopback origin)
//
// Presence follows the call: the page subscribes to the chat object on load (history
// readable), `connected` joins it (chat open), `disconnected` leaves it (read-only again).
import init, {
  ExternalChatHost,
  type DialOutError,
  type DialOutParams,
  type Disconnected,
} from "../../host/external-chat-host";
import type { JsonValue, PlatformToPlugin, PresenceStatus } from "../../../crates/protocol/bindings/protocol";
import type { CreateDynamic } from "../../../crates/protocol/bindings/protocol";
import { createObject, listObjects, spaceView, type HostEvent, type ObjectDef, type SpaceHost } from "../../host/index";
import { SessionProblem, connectHost, enterSession, showConnection, showFatal } from "../session";
import { mountParticipants } from "./participants";

const CHAT_PLUGIN = "/plugins/chatroom/?mode=meeting";
const DIAL_TIMEOUT_MS = 30_000;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const meetingId = params.get("meeting") ?? "demo-meeting";
/** What the server accepts as an object id (crates/server/src/api.rs, `check_id`). */
const MEETING_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Why `id` cannot be a meeting id, in words, or undefined when it can. */
export function meetingIdProblem(id: string): string | undefined {
  if (MEETING_ID.test(id)) return undefined;
  const shown = id.length > 40 ? `${id.slice(0, 40)}…` : id;
  return id.length === 0
    ? "The link has an empty meeting id (?meeting=). Meeting ids are 1 to 128 characters: letters A–Z and a–z, digits 0–9, and - _ . (for example ?meeting=team-standup)."
    : `“${shown}” cannot be a meeting id. Meeting ids are 1 to 128 characters: letters A–Z and a–z, digits 0–9, and - _ . (no spaces or other signs; for example ?meeting=team-standup). Check the link you were given.`;
}

let spaceHost: SpaceHost;
let chatHost: ExternalChatHost;
let myId = "";
let myName = "";
let isHost = false;
let pluginReady = false;
let inCall = false;
let panelOpen = false;
let unread = 0;
/** A message while the panel was closed mentioned this user (the badge says "@"). */
let mentioned = false;
const log: { event: string; data?: unknown }[] = [];

/** The stand-in on the other loopback origin, so Web App 3 is cross-origin as in production. */
function defaultWebApp3(): string {
  const u = new URL("/webapp3-standin/index.html?manifest=../webapp3/branding/manifest.json", location.href);
  if (u.hostname === "localhost") u.hostname = "127.0.0.1";
  else if (u.hostname === "127.0.0.1") u.hostname = "localhost";
  return u.href;
}

/** Calls ExternalChatHost where the plugin may not be ready yet (the state is remembered). */
function toPlugin(f: () => void): void {
  if (!pluginReady) return;
  try {
    f();
  } catch (e) {
    console.warn("meeting: external-chat plugin not reachable", e);
  }
}

/** The chat room lists the users a message mentions (`mentions`: their ids). */
function mentionsMe(message: JsonValue): boolean {
  const list = message && typeof message === "object" && !Array.isArray(message) ? message.mentions : undefined;
  return Array.isArray(list) && list.includes(myId);
}

function renderToggle(): void {
  const b = $<HTMLButtonElement>("chat-toggle");
  b.setAttribute("aria-pressed", String(panelOpen));
  b.title = panelOpen ? "Close Chat" : "Open Chat";
  const count = $("unread");
  count.hidden = unread === 0;
  count.textContent = mentioned ? `@${unread}` : String(unread);
  count.setAttribute("aria-label", mentioned ? `${unread} unread, you were mentioned` : `${unread} unread`);
}

function setPanel(open: boolean): void {
  panelOpen = open;
  $("chat-panel").hidden = !open;
  if (open) {
    unread = 0;
    mentioned = false;
  }
  renderToggle();
  toPlugin(() => chatHost.setButtonActive(open));
  if (open) toPlugin(() => chatHost.setBadge(false));
}

function callState(text: string, kind: "waiting" | "connected" | "left" | "dropped"): void {
  const el = $("call-state");
  el.textContent = text;
  el.className = kind;
}

/** Shows a notice in this user's chat (as the platform would) and, if `share`, in everyone's. */
function notice(message: { [key: string]: JsonValue }, share: boolean): void {
  const body = { id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, at: Date.now(), by: myName, ...message };
  const local: PlatformToPlugin = { type: "ovice_message", payload: { source: myId, event: "system", objectId: meetingId, message: body } };
  // The chat's iframe is sandboxed to an opaque origin: only "*" reaches it (that window only).
  spaceHost.frameOf(meetingId)?.contentWindow?.postMessage(local, "*");
  if (share) spaceHost.sendAsPage(meetingId, { type: "ovice_broadcast_message", payload: { event: "system", message: body } });
}

function presence(status: PresenceStatus): void {
  spaceHost.setPresence(meetingId, status).catch((e: Error) => console.warn(`meeting: presence ${status}: ${e.message}`));
}

function onHostEvent(e: HostEvent): void {
  switch (e.kind) {
    case "state":
      showConnection(e);
      break;
    case "plugin":
      // A new message for the chat while its panel is closed raises the badge.
      // Edits, reactions, typing and read marks are chat events too, but nothing new to read.
      if (e.object === meetingId && e.message.type === "ovice_message" && (e.message.payload.event === "chat" || e.message.payload.event === "system")) {
        if (!panelOpen) {
          unread += 1;
          if (mentionsMe(e.message.payload.message)) mentioned = true;
          renderToggle();
          toPlugin(() => chatHost.setBadge(true));
        }
      }
      break;
    case "refused":
      console.warn(`meeting: ${e.object} refused ${e.refused ?? "a message"}: ${e.message}`);
      break;
    default:
  }
}

// ---- Web App 3 ---------------------------------------------------------------------------

function wireWebApp3(): void {
  chatHost = ExternalChatHost.attach();
  chatHost.onReady(() => {
    log.push({ event: "ready" });
    pluginReady = true;
    // The button mirrors the panel; the page is the source of truth.
    toPlugin(() => chatHost.setButtonActive(panelOpen));
    toPlugin(() => chatHost.setBadge(unread > 0 && !panelOpen));
    if (!inCall) callState("Web App 3 is ready: join the call to chat. Earlier messages are readable.", "waiting");
  });
  chatHost.onConnected(() => {
    log.push({ event: "connected" });
    inCall = true;
    presence("joined");
    callState("In the call: the chat is open.", "connected");
    $<HTMLButtonElement>("chat-toggle").disabled = false;
    $("dial").hidden = !isHost;
    toPlugin(() => chatHost.setButtonActive(panelOpen));
    toPlugin(() => chatHost.setBadge(unread > 0 && !panelOpen));
  });
  chatHost.onDisconnected((d: Disconnected) => {
    log.push({ event: "disconnected", data: d });
    inCall = false;
    presence("left");
    $("dial").hidden = true;
    if (d.userInitiated) {
      callState("You left the call. The chat history stays readable.", "left");
      notice({ kind: "call", state: "left" }, false);
    } else {
      const code = d.errorCode ? ` (${d.errorCode})` : "";
      callState(`The call dropped: ${d.error ?? "unknown error"}${code}. The chat history stays readable.`, "dropped");
      notice({ kind: "call", state: "dropped", error: d.error ?? "", errorCode: d.errorCode ?? "" }, false);
    }
  });
  chatHost.onToggleChat(({ active }) => {
    log.push({ event: "toggle-chat", data: { active } });
    setPanel(active);
  });
  chatHost.onDialOutSuccess((s) => log.push({ event: "dial-out-success", data: s }));
  chatHost.onDialOutError((err) => log.push({ event: "dial-out-error", data: err }));
  $<HTMLIFrameElement>("webapp3").src = params.get("webapp3") ?? defaultWebApp3();
}

// ---- dial-out ----------------------------------------------------------------------------

function dialParams(form: HTMLFormElement): DialOutParams {
  const data = new FormData(form);
  const out: Record<string, string> = {};
  for (const [key, value] of data) {
    const v = String(value).trim();
    if (v !== "" || key === "destination") out[key] = v;
  }
  return out as unknown as DialOutParams;
}

/** A refused dial-out field in words: the field's label, not its wire name. */
function fieldProblem(form: HTMLFormElement, field: string, message: string): string {
  if (field === "destination") return "Enter a destination to dial, for example sip:alice@example.com.";
  const label = form.querySelector(`[name="${CSS.escape(field)}"]`)?.closest("label")?.firstChild?.textContent?.trim() || "this field";
  const reason = message.replace(/^(invalid )?field `[^`]*`:?\s*/i, "").replace(/`/g, "");
  return `Check “${label}”: ${reason}`;
}

function wireDialOut(): void {
  const form = $<HTMLFormElement>("dial-form");
  const error = $("dial-error");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    error.textContent = "";
    const p = dialParams(form);
    const who = p.remote_display_name || p.destination;
    const button = $<HTMLButtonElement>("dial-send");
    // ExternalChatHost validates with the protocol crate before anything is sent; an
    // invalid field is reported here and never reaches Web App 3.
    const pending = chatHost.dialOut(p, { timeoutMs: DIAL_TIMEOUT_MS });
    button.disabled = true;
    pending
      .then((ok) => {
        log.push({ event: "dial", data: { ok: true, ...ok } });
        notice({ kind: "dial-out", ok: true, displayName: ok.displayName ?? who, destination: p.destination }, true);
        form.reset();
      })
      .catch((err: DialOutError) => {
        log.push({ event: "dial", data: { ok: false, ...err } });
        const field = err.field ? form.querySelector<HTMLElement>(`[name="${CSS.escape(err.field)}"]`) : null;
        if (field) {
          // Refused before sending: say which field, in the form.
          field.setAttribute("aria-invalid", "true");
          field.focus();
          error.textContent = fieldProblem(form, err.field ?? "", err.message);
          return;
        }
        notice({ kind: "dial-out", ok: false, displayName: who, destination: p.destination, error: err.message }, true);
      })
      .finally(() => {
        button.disabled = false;
      });
  });
}

// ---- start -------------------------------------------------------------------------------

/** Who a space lets start meetings, as people say it. */
const STARTERS: Record<CreateDynamic, string> = { members: "its members", owners: "the space's owners", admins: "the server's administrators" };

/** The words for a meeting that does not exist and that this user may not start. */
function noSuchMeeting(who: CreateDynamic | undefined): string {
  return (
    `There is no meeting “${meetingId}” here, and only ${who ? STARTERS[who] : "some people"} may start a new one. ` +
    "Check the link you were given (the meeting's id is the part after ?meeting=), or ask the meeting's host for the link."
  );
}

/**
 * The meeting's chat object. An unknown meeting is created (as a dynamic object, host =
 * this user) only when the space lets this user start meetings; anyone else is told in
 * words that it does not exist and what to do.
 */
async function meetingObject(space: string, token: string): Promise<ObjectDef> {
  const view = await spaceView(space, token);
  const found = view.objects.find((o) => o.id === meetingId);
  if (found) return found;
  const who = view.space.settings.createDynamic;
  if (!view.mayCreateDynamic) throw new MeetingProblem(noSuchMeeting(who));
  const r = await createObject(space, token, { id: meetingId, name: `Meeting ${meetingId}`, pluginUrl: CHAT_PLUGIN });
  if (!r.ok && r.status !== 409) {
    let said: { error?: unknown; message?: unknown } = {};
    try {
      said = (await r.json()) as typeof said;
    } catch {
      // not JSON: no reason to show
    }
    if (said.error === "create_not_allowed" || r.status === 401) throw new MeetingProblem(noSuchMeeting(who));
    const why = typeof said.message === "string" ? said.message.replace(/`/g, "") : "";
    throw new MeetingProblem(
      said.error === "quota_exceeded"
        ? `Meeting “${meetingId}” could not be started: ${why} End a meeting you started, or ask an administrator.`
        : `Meeting “${meetingId}” could not be opened${why ? `: ${why}` : ""}. Reload the page to try again.`,
    );
  }
  const created = (await listObjects(space, token)).find((o) => o.id === meetingId);
  if (!created) throw new MeetingProblem(`Meeting “${meetingId}” could not be opened. Reload the page to try again.`);
  return created;
}

/** A problem already written for the person in front of the page. */
class MeetingProblem extends Error {}

async function main(): Promise<void> {
  const badId = meetingIdProblem(meetingId);
  if (badId) {
    $("login").hidden = true;
    showFatal(badId);
    return;
  }
  const session = await enterSession();
  if (!session) return;
  const { space, login } = session;
  myName = session.name;
  myId = String(login.participant.id);
  const def = await meetingObject(space, login.token);
  isHost = def.creator === myId;
  $("meeting-name").textContent = `${def.name}${isHost ? " · you host" : ""}`;
  $("me").textContent = myName;

  spaceHost = await connectHost(session, onHostEvent);
  $("welcome").hidden = true;
  $("meeting").hidden = false;
  spaceHost.openObject(meetingId, def.pluginUrl, $("chat-slot"), { title: "Meeting chat" });
  presence("subscribed");
  callState("Loading Web App 3…", "waiting");

  await init({ module_or_path: new URL("/host/meeting_host_bg.wasm", location.href) });
  wireWebApp3();
  mountParticipants(chatHost, $("meeting"), $("chat-toggle"));
  wireDialOut();
  const toggle = $<HTMLButtonElement>("chat-toggle");
  toggle.disabled = false;
  toggle.onclick = () => setPanel(!panelOpen);
  renderToggle();
  (window as unknown as { meeting: unknown }).meeting = {
    log,
    get spaceHost() {
      return spaceHost;
    },
    get chatHost() {
      return chatHost;
    },
    get state() {
      return { meetingId, myId, isHost, pluginReady, inCall, panelOpen, unread, mentioned };
    },
  };
}

main().catch((e: unknown) => {
  console.error("meeting:", e);
  if (e instanceof MeetingProblem || e instanceof SessionProblem) {
    showFatal(e.message);
    return;
  }
  const why = e instanceof Error ? e.message : String(e);
  showFatal(
    /Failed to fetch|NetworkError/i.test(why)
      ? "The meeting page could not start: the server did not answer. Check that it is running (make run), then reload."
      : "The meeting page could not start. Reload it; if it keeps failing, restart the server (make run) and look at its log.",
  );
});
