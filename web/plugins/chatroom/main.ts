// Chat room: one chat plugin for spaces and meetings, built with the oVice plugin SDK
// (web/sdk), so it runs on meetbridge and on oVice itself.
//
// - Messages to everyone are `ovice_broadcast_message`, direct messages `ovice_emit_message`,
//   both with event "chat" (see README.md for the message shapes).
// - The member list comes from `ovice_get_participants` and the four presence events.
// - History (reloads, reconnects) comes from the meetbridge history extension when the
//   platform has it; on oVice the request resolves as unsupported and live messages still work.
// - Everything a peer sends is untrusted: it is rendered with textContent only, and links
//   become anchors only for http(s) URLs, with rel="noopener noreferrer" and target=_blank.
//
// `?mode=meeting` (the meeting page): the composer opens only while this user is joined
// to the object (in the call); otherwise the history stays readable.
import type { PresenceStatus } from "../../../crates/protocol/bindings/protocol";
import { connect, type JsonValue, type Participant, type RelayedMessage } from "../../sdk/src/index";

const MAX_TEXT = 4000;
const HISTORY_LIMIT = 500;
const EMOJI = ["👍", "😀", "😂", "🎉", "❤️", "🙏", "👀", "✅"];

type ConvKey = string; // "all" or "dm:<user id>"
interface Msg {
  id: string;
  conv: ConvKey;
  from: string;
  name: string;
  avatarUrl: string;
  text: string;
  at: number;
  mine: boolean;
  system?: "info" | "error";
}
interface Member {
  p: Participant;
  status: PresenceStatus;
}

const params = new URLSearchParams(location.search);
const meetingMode = params.get("mode") === "meeting";
const plugin = connect();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let me: Participant | undefined;
let myStatus: PresenceStatus | undefined;
let active: ConvKey = "all";
let historyState: "loading" | "loaded" | "unsupported" | "failed" = "loading";
const members = new Map<string, Member>();
const convs = new Map<ConvKey, Msg[]>([["all", []]]);
const unread = new Map<ConvKey, number>();
const seen = new Set<string>();
const names = new Map<string, { name: string; avatarUrl: string }>();

// ---- untrusted input ----------------------------------------------------------------

const str = (v: unknown, max = 200): string => (typeof v === "string" ? v.slice(0, max) : "");
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const newId = (): string => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/** A chat message from a relayed payload, or undefined when it is not one. */
function readChat(m: RelayedMessage, receivedAt: number): Msg | undefined {
  const body = m.message as Record<string, unknown> | null;
  if (!body || typeof body !== "object" || Array.isArray(body)) return undefined;
  const mine = me !== undefined && m.source === String(me.id);
  const peer = mine ? m.to : m.source;
  if (m.event === "chat") {
    const text = str(body.text, MAX_TEXT);
    if (!text.trim()) return undefined;
    const known = names.get(m.source);
    return {
      id: str(body.id, 80) || `${m.source}:${receivedAt}:${text.length}`,
      conv: m.to !== undefined && peer !== undefined ? `dm:${peer}` : "all",
      from: m.source,
      name: known?.name || str(body.name, 80) || m.source,
      avatarUrl: known?.avatarUrl || str(body.avatarUrl, 2000),
      text,
      at: num(body.at) ?? receivedAt,
      mine,
    };
  }
  if (m.event === "system") {
    const text = systemText(body, m.source);
    if (!text) return undefined;
    return {
      id: str(body.id, 80) || `${m.source}:${receivedAt}`,
      conv: "all",
      from: m.source,
      name: "",
      avatarUrl: "",
      text,
      at: num(body.at) ?? receivedAt,
      mine,
      system: body.ok === false || body.state === "dropped" ? "error" : "info",
    };
  }
  return undefined;
}

/** The words of a system notice (dial-outs, call state), built here from plain fields. */
function systemText(body: Record<string, unknown>, source: string): string | undefined {
  const by = names.get(source)?.name || str(body.by, 80) || "Someone";
  const target = str(body.displayName, 80) || str(body.destination, 200) || "a participant";
  switch (body.kind) {
    case "dial-out":
      return body.ok === true ? `${by} dialed ${target} into the meeting.` : `${by} could not dial ${target}: ${str(body.error, 300) || "failed"}.`;
    case "call":
      if (body.state === "joined") return "You joined the call: the chat is open.";
      if (body.state === "left") return "You left the call. The chat history stays readable.";
      if (body.state === "dropped") {
        const code = str(body.errorCode, 40);
        return `The call dropped: ${str(body.error, 300) || "unknown error"}${code ? ` (${code})` : ""}. The chat history stays readable.`;
      }
      return undefined;
    default:
      return undefined;
  }
}

// ---- rendering ---------------------------------------------------------------------------

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/** Appends `text` to `parent` as text nodes, with http(s) URLs as safe links. */
function appendLinkified(parent: HTMLElement, text: string): void {
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let raw = match[0];
    // Trailing punctuation belongs to the sentence, not the URL.
    const trimmed = raw.replace(/[.,;:!?)\]}]+$/, "");
    raw = trimmed;
    const start = match.index ?? 0;
    let href: URL | undefined;
    try {
      href = new URL(raw);
    } catch {
      href = undefined;
    }
    if (!href || (href.protocol !== "http:" && href.protocol !== "https:")) continue;
    parent.append(document.createTextNode(text.slice(last, start)));
    const a = document.createElement("a");
    a.href = href.href;
    a.textContent = raw;
    a.rel = "noopener noreferrer";
    a.target = "_blank";
    parent.append(a);
    last = start + raw.length;
  }
  parent.append(document.createTextNode(text.slice(last)));
}

function hue(id: string): number {
  let h = 0;
  for (const c of id) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 360;
  return h;
}

function avatar(id: string, name: string, url: string): HTMLElement {
  const el = document.createElement("span");
  el.className = "avatar";
  el.setAttribute("aria-hidden", "true");
  el.style.background = `hsl(${hue(id)} 45% 45%)`;
  let safe: URL | undefined;
  try {
    safe = url ? new URL(url, location.href) : undefined;
  } catch {
    safe = undefined;
  }
  if (safe && (safe.protocol === "https:" || safe.protocol === "http:")) {
    const img = document.createElement("img");
    img.alt = "";
    img.referrerPolicy = "no-referrer";
    img.src = safe.href;
    img.onerror = () => img.replaceWith(document.createTextNode(initials(name)));
    el.append(img);
  } else {
    el.textContent = initials(name);
  }
  return el;
}

function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .map((w) => [...w][0] ?? "")
      .join("")
      .slice(0, 2)
      .toUpperCase() || "?"
  );
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

function messageEl(m: Msg): HTMLElement {
  const row = document.createElement("div");
  row.className = `msg${m.mine ? " mine" : ""}${m.system ? ` system ${m.system}` : ""}`;
  row.dataset.id = m.id;
  const text = document.createElement("div");
  text.className = "text";
  if (m.system) {
    text.textContent = m.text;
    row.append(text);
    return row;
  }
  appendLinkified(text, m.text);
  const meta = document.createElement("div");
  meta.className = "meta";
  const who = document.createElement("strong");
  who.textContent = m.mine ? `${m.name} (you)` : m.name;
  const when = document.createElement("time");
  const date = new Date(m.at);
  when.dateTime = date.toISOString();
  when.textContent = timeFmt.format(date);
  when.title = fullFmt.format(date);
  meta.append(who, when);
  const body = document.createElement("div");
  body.className = "body";
  body.append(meta, text);
  row.append(avatar(m.from, m.name, m.avatarUrl), body);
  return row;
}

function convTitle(key: ConvKey): string {
  if (key === "all") return "Everyone";
  const id = key.slice(3);
  return members.get(id)?.p.name ?? names.get(id)?.name ?? id;
}

function renderConvs(): void {
  const keys = [...convs.keys()];
  $("convs").replaceChildren(
    ...keys.map((key) => {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.conv = key;
      b.textContent = key === "all" ? "Everyone" : `@ ${convTitle(key)}`;
      b.setAttribute("aria-current", String(key === active));
      const n = unread.get(key) ?? 0;
      if (n > 0) {
        const c = document.createElement("span");
        c.className = "count";
        c.textContent = String(n);
        c.setAttribute("aria-label", `${n} unread`);
        b.append(c);
      }
      b.onclick = () => openConv(key);
      return b;
    }),
  );
  const total = [...unread.values()].reduce((a, b) => a + b, 0);
  document.title = total > 0 ? `(${total}) Chat room` : "Chat room";
}

const STATUS_WORDS: Record<PresenceStatus, [string, string]> = {
  joined: ["in the call", "linked"],
  subscribed: ["not in the call", "nearby"],
  left: ["left the call", "left"],
  unsubscribed: ["away", "away"],
};
const RANK: Record<PresenceStatus, number> = { joined: 0, subscribed: 1, left: 2, unsubscribed: 3 };

function renderPeople(): void {
  const list = [...members.values()].sort(
    (a, b) => Number(b.p.isSelf ?? false) - Number(a.p.isSelf ?? false) || RANK[a.status] - RANK[b.status] || a.p.name.localeCompare(b.p.name),
  );
  $("people-count").textContent = String(list.length);
  $("people-list").replaceChildren(
    ...list.map(({ p, status }) => {
      const li = document.createElement("li");
      li.dataset.user = String(p.id);
      li.dataset.status = status;
      const dot = document.createElement("span");
      dot.className = `dot ${status}`;
      dot.setAttribute("aria-hidden", "true");
      const who = document.createElement("span");
      who.className = "who";
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = `${p.name}${p.isSelf ? " (you)" : ""}${p.isHost ? " · host" : ""}`;
      const small = document.createElement("small");
      small.textContent = STATUS_WORDS[status][meetingMode ? 0 : 1];
      who.append(name, small);
      li.append(avatar(String(p.id), p.name, p.avatarUrl), dot, who);
      if (!p.isSelf) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = "Message";
        b.setAttribute("aria-label", `Message ${p.name} directly`);
        b.onclick = () => openConv(`dm:${String(p.id)}`);
        li.append(b);
      }
      return li;
    }),
  );
}

function nearBottom(log: HTMLElement): boolean {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 60;
}

function renderLog(): void {
  const log = $("log");
  const list = convs.get(active) ?? [];
  if (list.length === 0) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = active === "all" ? "No messages yet. Say hello 👋" : `No messages with ${convTitle(active)} yet.`;
    log.replaceChildren(p);
  } else {
    log.replaceChildren(...list.map(messageEl));
  }
  log.scrollTop = log.scrollHeight;
  $("title").textContent = active === "all" ? "Chat · everyone" : `Chat · ${convTitle(active)}`;
  $<HTMLTextAreaElement>("text").placeholder = active === "all" ? "Message everyone" : `Message ${convTitle(active)} privately`;
}

function canSend(): boolean {
  if (!me) return false;
  if (meetingMode) return myStatus === "joined";
  return myStatus === "joined" || myStatus === "subscribed" || myStatus === "left";
}

function renderComposer(): void {
  const ok = canSend();
  const text = $<HTMLTextAreaElement>("text");
  text.disabled = !ok;
  $<HTMLButtonElement>("send").disabled = !ok;
  for (const b of document.querySelectorAll<HTMLButtonElement>(".emoji button")) b.disabled = !ok;
  let why = "";
  if (!me) why = "Connecting…";
  else if (!ok) why = meetingMode ? "Join the call to chat. The history stays readable." : "Come closer to the object to chat.";
  if (historyState === "unsupported" && ok) why = "This platform keeps no chat history: you see messages from now on.";
  if (historyState === "failed") why = "The chat history could not be loaded; new messages still arrive.";
  $("status").textContent = why;
  $("chars").textContent = text.value.length > MAX_TEXT - 500 ? `${text.value.length}/${MAX_TEXT}` : "";
}

// ---- state -------------------------------------------------------------------------------

function openConv(key: ConvKey): void {
  if (!convs.has(key)) convs.set(key, []);
  active = key;
  unread.set(key, 0);
  renderConvs();
  renderLog();
  $<HTMLTextAreaElement>("text").focus();
}

/** Adds a message once (by id); `live` messages outside the open conversation count as unread. */
function add(m: Msg, live: boolean): void {
  if (seen.has(m.id)) return;
  seen.add(m.id);
  let list = convs.get(m.conv);
  if (!list) {
    list = [];
    convs.set(m.conv, list);
  }
  list.push(m);
  if (live && !m.mine && m.conv !== active) unread.set(m.conv, (unread.get(m.conv) ?? 0) + 1);
  if (m.conv === active) {
    const log = $("log");
    const stick = nearBottom(log) || m.mine;
    if (list.length === 1) log.replaceChildren();
    log.append(messageEl(m));
    if (stick) log.scrollTop = log.scrollHeight;
  }
  renderConvs();
}

function setMember(p: Participant, status: PresenceStatus): void {
  const id = String(p.id);
  names.set(id, { name: p.name, avatarUrl: p.avatarUrl });
  if (p.isSelf) {
    me = p;
    myStatus = status;
  }
  if (status === "unsubscribed") members.delete(id);
  else members.set(id, { p, status });
  renderPeople();
  renderComposer();
}

for (const [type, status] of [
  ["ovice_participant_subscribed", "subscribed"],
  ["ovice_participant_joined", "joined"],
  ["ovice_participant_left", "left"],
  ["ovice_participant_unsubscribed", "unsubscribed"],
] as const) {
  plugin.on(type, (p) => setMember(p, status));
}

plugin.on("ovice_message", (m) => {
  const msg = readChat(m, Date.now());
  if (msg) add(msg, true);
});

plugin.on("meetbridge_error", (e) => {
  if (e.refused === "ovice_broadcast_message" || e.refused === "ovice_emit_message") {
    add({ id: newId(), conv: active, from: "", name: "", avatarUrl: "", text: `Not delivered: ${e.message}`, at: Date.now(), mine: false, system: "error" }, false);
  }
});

function send(text: string): void {
  if (!me || !canSend()) return;
  const body = text.trim() ? text.slice(0, MAX_TEXT) : "";
  if (!body) return;
  const message: JsonValue = { id: newId(), text: body, at: Date.now(), name: me.name, avatarUrl: me.avatarUrl };
  const self = String(me.id);
  try {
    if (active === "all") plugin.broadcast("chat", message);
    else plugin.emit(active.slice(3), "chat", message);
  } catch (e) {
    add({ id: newId(), conv: active, from: "", name: "", avatarUrl: "", text: `Not sent: ${(e as Error).message}`, at: Date.now(), mine: false, system: "error" }, false);
    return;
  }
  const to = active === "all" ? undefined : active.slice(3);
  const msg = readChat({ source: self, event: "chat", objectId: me.objectId, message, ...(to ? { to } : {}) }, Date.now());
  if (msg) add(msg, false);
}

/** Loads the object's past messages through the meetbridge history extension, if any. */
async function loadHistory(): Promise<void> {
  const older = new Map<ConvKey, Msg[]>();
  let since: number | undefined;
  try {
    for (let page = 0; page < 4; page += 1) {
      const result = await plugin.getHistory({ limit: HISTORY_LIMIT, ...(since === undefined ? {} : { since }) });
      if (!result.supported) {
        historyState = "unsupported";
        return;
      }
      for (const entry of result.entries) {
        const m = readChat(entry.message, Date.now());
        if (!m || seen.has(m.id)) continue;
        seen.add(m.id);
        const list = older.get(m.conv) ?? [];
        list.push(m);
        older.set(m.conv, list);
      }
      if (result.missed && page === 0) {
        console.info(`chat: messages ${result.missed[0]}..${result.missed[1]} are past the server's history window`);
      }
      if (!result.more) break;
      since = result.upto;
    }
    historyState = "loaded";
  } catch (e) {
    console.warn("chat: history unavailable", e);
    historyState = "failed";
  } finally {
    // Older messages go before whatever arrived live meanwhile.
    for (const [key, list] of older) convs.set(key, [...list, ...(convs.get(key) ?? [])]);
  }
}

// ---- wiring ------------------------------------------------------------------------------

const text = $<HTMLTextAreaElement>("text");
text.maxLength = MAX_TEXT;
$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  send(text.value);
  text.value = "";
  text.style.height = "";
  renderComposer();
});
text.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $<HTMLFormElement>("composer").requestSubmit();
  }
});
text.addEventListener("input", () => {
  text.style.height = "";
  text.style.height = `${Math.min(text.scrollHeight, 120)}px`;
  renderComposer();
});
const emojiBar = document.querySelector<HTMLElement>(".emoji");
for (const e of EMOJI) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = e;
  b.setAttribute("aria-label", `Insert ${e}`);
  b.onclick = () => {
    const at = text.selectionStart ?? text.value.length;
    text.setRangeText(e, at, text.selectionEnd ?? at, "end");
    text.focus();
    renderComposer();
  };
  emojiBar?.append(b);
}
$("people-toggle").onclick = () => {
  const panel = $("people");
  panel.hidden = !panel.hidden;
  $("people-toggle").setAttribute("aria-expanded", String(!panel.hidden));
};

/** For tests and the curious: what the plugin shows. */
(window as unknown as { chat: unknown }).chat = {
  get me() {
    return me;
  },
  get status() {
    return myStatus;
  },
  get history() {
    return historyState;
  },
  get active() {
    return active;
  },
  unread: () => Object.fromEntries(unread),
  messages: (key: ConvKey = "all") => (convs.get(key) ?? []).map((m) => ({ id: m.id, from: m.from, name: m.name, text: m.text, mine: m.mine, system: m.system })),
  members: () => [...members.values()].map((m) => ({ id: String(m.p.id), name: m.p.name, status: m.status, isHost: m.p.isHost })),
  open: openConv,
  send,
};

async function start(): Promise<void> {
  renderConvs();
  renderLog();
  renderComposer();
  try {
    const list = await plugin.getParticipants();
    for (const p of list) setMember(p, p.status ?? "subscribed");
  } catch (e) {
    console.warn("chat: no participant list yet", e);
  }
  await loadHistory();
  renderConvs();
  renderLog();
  renderComposer();
}

void start();
