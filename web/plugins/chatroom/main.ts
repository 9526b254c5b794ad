// Chat room: one chat plugin for spaces and meetings, built with the oVice plugin SDK
// (web/sdk), so it runs on meetbridge and on oVice itself.
//
// - Messages to everyone are `ovice_broadcast_message`, direct messages `ovice_emit_message`.
//   Besides "chat" the plugin sends "edit", "delete", "react", "typing" (to the same
//   audience as the message they touch) and "read" (emitted to this user only: the
//   last-read position, kept by the platform's history for this user alone). See README.md.
// - The member list comes from `ovice_get_participants` and the four presence events.
// - History (reloads, reconnects) comes from the meetbridge history extension when the
//   platform has it; on oVice the request resolves as unsupported and live messages still work.
// - Everything a peer sends is untrusted: it is rendered with textContent only, and links
//   become anchors only for http(s) URLs, with rel="noopener noreferrer" and target=_blank.
//   Edits and deletions count only from the message's own sender.
//
// `?mode=meeting` (the meeting page): the composer opens only while this user is joined
// to the object (in the call); otherwise the history stays readable. `&in=space`: the same
// chat opened as an object of the space, where "joined" is the panel's Link.
import type { PresenceStatus } from "../../../crates/protocol/bindings/protocol";
import { connect, type JsonValue, type Participant, type RelayedMessage } from "../../sdk/src/index";

const MAX_TEXT = 4000;
/** Messages per history page (`?historyPage=` lowers it, to try the paging with few messages). */
const HISTORY_LIMIT = Math.max(10, Math.min(500, Number(new URLSearchParams(location.search).get("historyPage")) || 500));
/** How many messages of a conversation are drawn at first; scrolling up draws more. */
const PAGE = 60;
const EMOJI = ["👍", "😀", "😂", "🎉", "❤️", "🙏", "👀", "✅"];
const REACTIONS = ["👍", "❤️", "😂", "🎉", "👀"];
const TYPING_EVERY_MS = 4000;
const TYPING_SHOWN_MS = 6000;

type ConvKey = string; // "all" or "dm:<user id>"
type Delivery = "sending" | "sent" | "failed";
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
  mentions: string[];
  edited?: number;
  deleted?: boolean;
  /** emoji → the users who reacted with it. */
  reactions: Map<string, Set<string>>;
  /** Own messages: where delivery stands, and why it failed. */
  delivery?: Delivery;
  reason?: string;
  /** What to send again on Retry. */
  body?: JsonValue;
  /** Where it came among everything received (history first). */
  order?: number;
}
interface Member {
  p: Participant;
  status: PresenceStatus;
}

const params = new URLSearchParams(location.search);
const meetingMode = params.get("mode") === "meeting";
const inSpace = params.get("in") === "space";
const plugin = connect();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let me: Participant | undefined;
let myStatus: PresenceStatus | undefined;
let active: ConvKey = "all";
let historyState: "loading" | "loaded" | "unsupported" | "failed" = "loading";
/** The history window began after the first messages of the object: older ones are gone. */
let historyCut = false;
/** The platform retains nothing earlier than what is loaded (else `historyBefore` pages back). */
let historyStart = true;
let historyBefore: number | undefined;
let loadingOlder = false;
/** While an older page is replayed: its messages, per conversation, to go before the rest. */
let staging: Map<ConvKey, Msg[]> | undefined;
/** The position given to the next message of an older page (they go below every other). */
let olderOrder = 0;
const members = new Map<string, Member>();
const convs = new Map<ConvKey, Msg[]>([["all", []]]);
const byId = new Map<string, Msg>();
const unread = new Map<ConvKey, number>();
const mentioned = new Map<ConvKey, number>();
/**
 * This user's read marks: per conversation, the position (in the order messages came) of
 * the last mark, and the first mark of any conversation (when this user was first here).
 */
const lastRead = new Map<ConvKey, number>();
let firstMark: number | undefined;
/** Per conversation: the last message id a mark was sent for. */
const sentRead = new Map<ConvKey, string>();
/** Position of each message and mark, in the order they came (history, then live). */
let order = 0;
const names = new Map<string, { name: string; avatarUrl: string }>();
const typing = new Map<string, { conv: ConvKey; until: number }>();
/** Edits, deletions and reactions that arrived before their message. */
const early = new Map<string, RelayedMessage[]>();
const shown = new Map<ConvKey, number>();

// ---- untrusted input ----------------------------------------------------------------

const str = (v: unknown, max = 200): string => (typeof v === "string" ? v.slice(0, max) : "");
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const newId = (): string => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
const record = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const myId = (): string => (me ? String(me.id) : "");

/** The conversation a relayed message belongs to, seen from this user. */
function convOf(m: RelayedMessage): ConvKey {
  const mine = m.source === myId();
  const peer = mine ? m.to : m.source;
  return m.to !== undefined && peer !== undefined && peer !== myId() ? `dm:${peer}` : m.to !== undefined ? "self" : "all";
}

/** A chat message or a notice from a relayed payload, or undefined when it is not one. */
function readChat(m: RelayedMessage, receivedAt: number): Msg | undefined {
  const body = record(m.message);
  if (!body) return undefined;
  const mine = me !== undefined && m.source === myId();
  if (m.event === "chat") {
    const text = str(body.text, MAX_TEXT);
    if (!text.trim()) return undefined;
    const conv = convOf(m);
    if (conv === "self") return undefined;
    const known = names.get(m.source);
    const mentions = Array.isArray(body.mentions) ? body.mentions.filter((x): x is string => typeof x === "string").slice(0, 50) : [];
    return {
      id: str(body.id, 80) || `${m.source}:${receivedAt}:${text.length}`,
      conv,
      from: m.source,
      name: known?.name || str(body.name, 80) || m.source,
      avatarUrl: known?.avatarUrl || str(body.avatarUrl, 2000),
      text,
      at: num(body.at) ?? receivedAt,
      mine,
      mentions,
      reactions: new Map(),
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
      mentions: [],
      reactions: new Map(),
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

/** Does this message speak to me: my id in its mentions, or "@my name" in its text. */
function mentionsMe(m: Msg): boolean {
  if (!me || m.mine || m.system) return false;
  if (m.mentions.includes(myId())) return true;
  return me.name.length > 0 && m.text.toLowerCase().includes(`@${me.name.toLowerCase()}`);
}

/** The members named "@Name" in `text` (longest names first, so "@Ann Lee" beats "@Ann"). */
function findMentions(text: string): string[] {
  const lower = text.toLowerCase();
  const found: string[] = [];
  const list = [...members.values()].sort((a, b) => b.p.name.length - a.p.name.length);
  for (const { p } of list) {
    if (p.isSelf || !p.name) continue;
    if (lower.includes(`@${p.name.toLowerCase()}`)) found.push(String(p.id));
  }
  return found;
}

// ---- rendering ---------------------------------------------------------------------------

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/** Appends `text` to `parent` as text nodes, with http(s) URLs as safe links. */
function appendLinkified(parent: HTMLElement, text: string): void {
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    // Trailing punctuation belongs to the sentence, not the URL.
    const raw = match[0].replace(/[.,;:!?)\]}]+$/, "");
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
  el.style.background = `hsl(${hue(id)} 50% 36%)`;
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

/** The first letters of the first two words, by grapheme (an emoji or a flag stays whole). */
function initials(name: string): string {
  const seg = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  return (
    name
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => seg.segment(w)[Symbol.iterator]().next().value?.segment ?? "")
      .slice(0, 2)
      .join("")
      .toUpperCase() || "?"
  );
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
/** The first words of a message, to name it in a button's label. */
const gist = (text: string): string => {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
};

function button(label: string, text: string, onclick: () => void, className = ""): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.setAttribute("aria-label", label);
  if (className) b.className = className;
  b.onclick = onclick;
  return b;
}

function messageEl(m: Msg): HTMLElement {
  const row = document.createElement("div");
  const mention = mentionsMe(m);
  row.className = `msg${m.mine ? " mine" : ""}${m.system ? ` system ${m.system}` : ""}${mention ? " mention" : ""}${m.deleted ? " deleted" : ""}`;
  row.dataset.id = m.id;
  const text = document.createElement("div");
  text.className = "text";
  if (m.system) {
    text.textContent = m.text;
    row.append(text);
    return row;
  }
  if (m.deleted) text.textContent = "Message deleted";
  else appendLinkified(text, m.text);
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
  if (m.edited && !m.deleted) {
    const e = document.createElement("span");
    e.className = "edited";
    e.textContent = "(edited)";
    e.title = `Edited ${fullFmt.format(new Date(m.edited))}`;
    meta.append(e);
  }
  if (mention) {
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = "mentions you";
    meta.append(tag);
  }
  const body = document.createElement("div");
  body.className = "body";
  body.append(meta, text);
  if (m.mine && m.delivery) body.append(deliveryEl(m));
  if (!m.deleted) {
    const chips = reactionsEl(m);
    if (chips) body.append(chips);
    body.append(actionsEl(m));
  }
  row.append(avatar(m.from, m.name, m.avatarUrl), body);
  return row;
}

function deliveryEl(m: Msg): HTMLElement {
  const d = document.createElement("div");
  d.className = `delivery ${m.delivery ?? ""}`;
  if (m.delivery === "failed") {
    d.setAttribute("role", "alert");
    const why = document.createElement("span");
    why.textContent = `Not sent: ${m.reason ?? "the platform refused it"}`;
    d.append(why, button(`Retry sending “${gist(m.text)}”`, "Retry", () => retry(m.id), "retry"));
  } else {
    d.textContent = m.delivery === "sending" ? "Sending…" : "Sent";
  }
  return d;
}

function reactionsEl(m: Msg): HTMLElement | undefined {
  const list = [...m.reactions].filter(([, who]) => who.size > 0);
  if (list.length === 0) return undefined;
  const wrap = document.createElement("div");
  wrap.className = "reactions";
  for (const [emoji, who] of list) {
    const mine = who.has(myId());
    const names = [...who].map((id) => (id === myId() ? "you" : (members.get(id)?.p.name ?? nameOf(id)))).join(", ");
    const b = button(
      `${emoji} ${who.size}: ${names}. ${mine ? "Remove your reaction" : "React with it too"}`,
      `${emoji} ${who.size}`,
      () => react(m.id, emoji),
      "chip",
    );
    b.setAttribute("aria-pressed", String(mine));
    b.title = names;
    wrap.append(b);
  }
  return wrap;
}

function actionsEl(m: Msg): HTMLElement {
  const bar = document.createElement("div");
  bar.className = "actions";
  const what = `“${gist(m.text)}”`;
  const picker = document.createElement("span");
  picker.className = "picker";
  picker.hidden = true;
  for (const e of REACTIONS) picker.append(button(`React ${e} to ${what}`, e, () => react(m.id, e)));
  const toggle = button(`React to ${m.mine ? "your message" : `${m.name}'s message`} ${what}`, "React", () => {
    picker.hidden = !picker.hidden;
    toggle.setAttribute("aria-expanded", String(!picker.hidden));
  });
  toggle.setAttribute("aria-expanded", "false");
  bar.append(toggle, picker);
  if (m.mine && m.delivery !== "failed" && m.delivery !== "sending") {
    bar.append(button(`Edit your message ${what}`, "Edit", () => startEdit(m.id)));
    bar.append(button(`Delete your message ${what}`, "Delete", () => remove(m.id)));
  }
  return bar;
}

const nameOf = (id: string): string => names.get(id)?.name ?? id;

function convTitle(key: ConvKey): string {
  if (key === "all") return "Everyone";
  const id = key.slice(3);
  return members.get(id)?.p.name ?? nameOf(id);
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
      const at = mentioned.get(key) ?? 0;
      if (n > 0) {
        const c = document.createElement("span");
        c.className = at > 0 ? "count at" : "count";
        c.textContent = at > 0 ? `@${n}` : String(n);
        c.setAttribute("aria-label", at > 0 ? `${n} unread, you were mentioned` : `${n} unread`);
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
  left: ["left the call", "nearby"],
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
      name.title = p.name;
      const small = document.createElement("small");
      small.textContent = STATUS_WORDS[status][meetingMode && !inSpace ? 0 : 1];
      who.append(name, small);
      li.append(avatar(String(p.id), p.name, p.avatarUrl), dot, who);
      if (!p.isSelf) li.append(button(`Message ${p.name} directly`, "Message", () => openConv(`dm:${String(p.id)}`)));
      return li;
    }),
  );
}

function nearBottom(log: HTMLElement): boolean {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 60;
}

/** The line at the top of the log: earlier messages to draw, or where the conversation starts. */
function startEl(list: Msg[], from: number): HTMLElement {
  const p = document.createElement("p");
  p.className = "start";
  if (from > 0) {
    const label = `Show earlier messages (${from} more)`;
    p.append(button(label, label, () => showEarlier(), "earlier"));
  } else if (loadingOlder) {
    p.textContent = "Loading earlier messages…";
  } else if (!historyStart) {
    p.append(button("Load earlier messages from the history", "Load earlier messages", () => showEarlier(), "earlier"));
  } else if (historyCut && list.length > 0) {
    p.textContent = "Earlier messages are past what the platform keeps.";
  } else if (list.length > 0) {
    p.textContent = active === "all" ? "This is the start of the conversation." : `This is the start of your conversation with ${convTitle(active)}.`;
  }
  return p;
}

function renderLog(keepScroll = false): void {
  const log = $("log");
  const list = convs.get(active) ?? [];
  const count = Math.min(list.length, shown.get(active) ?? PAGE);
  const from = list.length - count;
  const oldHeight = log.scrollHeight;
  const oldTop = log.scrollTop;
  if (list.length === 0) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = active === "all" ? "No messages yet. Say hello 👋" : `No messages with ${convTitle(active)} yet.`;
    log.replaceChildren(p);
  } else {
    const rows = list.slice(from).map(messageEl);
    const first = firstUnread.get(active);
    const i = first ? list.slice(from).findIndex((m) => m.id === first) : -1;
    if (i >= 0) {
      const line = document.createElement("div");
      line.className = "new-line";
      line.setAttribute("role", "separator");
      line.textContent = "New since you last read";
      rows.splice(i, 0, line);
    }
    log.replaceChildren(startEl(list, from), ...rows);
  }
  const line = log.querySelector<HTMLElement>(".new-line");
  if (keepScroll) log.scrollTop = oldTop + (log.scrollHeight - oldHeight);
  else if (line && !scrolledToNew.has(active)) {
    scrolledToNew.add(active);
    log.scrollTop = Math.max(0, line.offsetTop - 40);
  } else log.scrollTop = log.scrollHeight;
  $("title").textContent = active === "all" ? "Chat · everyone" : `Chat · ${convTitle(active)}`;
  $<HTMLTextAreaElement>("text").placeholder = active === "all" ? "Message everyone" : `Message ${convTitle(active)} privately`;
}

/** Draws the next PAGE older messages of the open conversation, keeping the view where it was. */
function showEarlier(): void {
  const list = convs.get(active) ?? [];
  const now = shown.get(active) ?? PAGE;
  if (now >= list.length) {
    void loadOlder();
    return;
  }
  shown.set(active, now + PAGE);
  renderLog(true);
}

/** Fetches the page of history before what is loaded and puts it before everything else. */
async function loadOlder(): Promise<void> {
  if (loadingOlder || historyStart || historyBefore === undefined) return;
  loadingOlder = true;
  renderLog(true);
  try {
    const page = await plugin.getHistory({ before: historyBefore, limit: HISTORY_LIMIT });
    if (!page.supported) return;
    historyStart = page.start || page.from === undefined;
    historyBefore = page.from;
    if (page.missed) historyCut = true;
    // Positions below everything loaded so far, in the page's own (oldest first) order.
    const base = olderOrder - page.entries.length - 1;
    olderOrder = base;
    staging = new Map();
    for (const entry of page.entries) receive(entry.message, false);
    const older = staging;
    staging = undefined;
    olderOrder = base;
    for (const [key, list] of older) convs.set(key, [...list, ...(convs.get(key) ?? [])]);
    shown.set(active, (shown.get(active) ?? PAGE) + (older.get(active)?.length ?? 0));
  } catch (e) {
    console.info("chat: earlier history unavailable", e);
    notice("Earlier messages could not be loaded. Scroll up to try again.", active);
  } finally {
    staging = undefined;
    loadingOlder = false;
    renderConvs();
    renderLog(true);
  }
}

/** Redraws one message where it is (an edit, a deletion, a reaction, its delivery). */
function redraw(m: Msg): void {
  const old = [...$("log").querySelectorAll<HTMLElement>(".msg")].find((el) => el.dataset.id === m.id);
  old?.replaceWith(messageEl(m));
}

function canSend(): boolean {
  if (!me) return false;
  if (meetingMode) return myStatus === "joined";
  return myStatus === "joined" || myStatus === "subscribed" || myStatus === "left";
}

function tooLong(text: string): string | undefined {
  const n = [...text].length;
  return n > MAX_TEXT ? `Too long to send: ${n.toLocaleString("en")} characters, the limit is ${MAX_TEXT.toLocaleString("en")}. Shorten it or send it in parts.` : undefined;
}

function renderComposer(): void {
  const ok = canSend();
  const text = $<HTMLTextAreaElement>("text");
  const long = tooLong(text.value);
  text.disabled = !ok;
  $<HTMLButtonElement>("send").disabled = !ok || Boolean(long);
  text.setAttribute("aria-invalid", String(Boolean(long)));
  for (const b of document.querySelectorAll<HTMLButtonElement>(".emoji button")) b.disabled = !ok;
  let why = "";
  if (!me) why = "Connecting…";
  else if (!ok) {
    if (meetingMode && inSpace) why = "This is the meeting's chat: Link it to write. The history stays readable.";
    else if (meetingMode) why = "This is the meeting's chat: join the call to write. The history stays readable.";
    else why = "Come closer to the object to chat.";
  }
  if (historyState === "unsupported" && ok) why = "This platform keeps no chat history: you see messages from now on.";
  if (historyState === "failed") why = "The chat history could not be loaded; new messages still arrive.";
  $("status").textContent = why;
  const chars = $("chars");
  chars.textContent = long ?? ([...text.value].length > MAX_TEXT - 500 ? `${[...text.value].length}/${MAX_TEXT}` : "");
  chars.className = long ? "too-long" : "";
}

function renderTyping(): void {
  const now = Date.now();
  const who = [...typing].filter(([id, t]) => t.until > now && t.conv === active && id !== myId()).map(([id]) => convName(id));
  const el = $("typing");
  el.textContent =
    who.length === 0 ? "" : who.length === 1 ? `${who[0]} is typing…` : who.length === 2 ? `${who[0]} and ${who[1]} are typing…` : "Several people are typing…";
}
const convName = (id: string): string => members.get(id)?.p.name ?? nameOf(id);
setInterval(renderTyping, 1000);

// ---- sending -----------------------------------------------------------------------------

/** A refusal in words for the person who wrote the message. */
function reasonOf(code: string, message: string, to?: string): string {
  switch (code) {
    case "too_large":
      return "the message is too large for the platform. Shorten it.";
    case "recipient_not_member":
      return `${to ? convName(to) : "they"} left this chat, so the message could not reach them.`;
    case "not_member":
      return meetingMode ? "you are not in this chat any more: join the call again, then retry." : "you are not near this chat any more: come back, then retry.";
    case "rate_limited":
      return "too many messages at once. Wait a moment, then retry.";
    case "timeout":
      return "the platform did not answer. Check your connection, then retry.";
    default:
      return `the platform refused it (${message.replace(/`/g, "")}).`;
  }
}

/**
 * Sends `message` as `event` to everyone (`to` undefined) or to one user. Resolves when the
 * platform took it (the SDK's promise: its receipt, or on a platform without receipts no
 * refusal within the SDK's wait), rejects with the reason in words.
 */
async function post(event: string, message: JsonValue, to?: string): Promise<void> {
  try {
    await (to === undefined ? plugin.broadcast(event, message) : plugin.emit(to, event, message));
  } catch (e) {
    const err = e as { code?: string; message?: string };
    throw new Error(reasonOf(err.code ?? "", err.message ?? String(e), to));
  }
}

/** The peer of a direct conversation, or undefined for the room. */
const peerOf = (conv: ConvKey): string | undefined => (conv.startsWith("dm:") ? conv.slice(3) : undefined);

function deliver(m: Msg): void {
  m.delivery = "sending";
  m.reason = undefined;
  redraw(m);
  post("chat", m.body ?? null, peerOf(m.conv)).then(
    () => {
      m.delivery = "sent";
      redraw(m);
    },
    (e: Error) => {
      m.delivery = "failed";
      m.reason = e.message;
      redraw(m);
    },
  );
}

function send(text: string): boolean {
  if (!me || !canSend()) return false;
  if (!text.trim() || tooLong(text)) return false;
  const at = Date.now();
  const message: JsonValue = { id: newId(), text, at, name: me.name, avatarUrl: me.avatarUrl, mentions: findMentions(text) };
  const to = peerOf(active);
  const msg = readChat({ source: myId(), event: "chat", objectId: me.objectId, message, ...(to ? { to } : {}) }, at);
  if (!msg) return false;
  msg.body = message;
  add(msg, false);
  deliver(msg);
  lastTyped = 0;
  return true;
}

function retry(id: string): void {
  const m = byId.get(id);
  if (m && m.mine && m.delivery === "failed") deliver(m);
}

function ownMessage(id: string): Msg | undefined {
  const m = byId.get(id);
  return m && m.mine && !m.system && !m.deleted ? m : undefined;
}

function edit(id: string, text: string): void {
  const m = ownMessage(id);
  if (!m || !text.trim() || tooLong(text) || text === m.text) return;
  const at = Date.now();
  const [was, wasEdited] = [m.text, m.edited];
  m.text = text;
  m.edited = at;
  redraw(m);
  post("edit", { id, text, at }, peerOf(m.conv)).catch((e: Error) => {
    [m.text, m.edited] = [was, wasEdited];
    redraw(m);
    notice(`Not edited: ${e.message}`, m.conv);
  });
}

function remove(id: string): void {
  const m = ownMessage(id);
  if (!m) return;
  const was = m.text;
  m.deleted = true;
  m.text = "";
  redraw(m);
  post("delete", { id, at: Date.now() }, peerOf(m.conv)).catch((e: Error) => {
    m.deleted = false;
    m.text = was;
    redraw(m);
    notice(`Not deleted: ${e.message}`, m.conv);
  });
}

function react(id: string, emoji: string): void {
  const m = byId.get(id);
  if (!m || m.system || m.deleted || !me) return;
  const who = m.reactions.get(emoji) ?? new Set<string>();
  const on = !who.has(myId());
  applyReaction(m, myId(), emoji, on);
  redraw(m);
  post("react", { id, emoji, on }, peerOf(m.conv)).catch((e: Error) => {
    applyReaction(m, myId(), emoji, !on);
    redraw(m);
    notice(`Reaction not sent: ${e.message}`, m.conv);
  });
}

function applyReaction(m: Msg, user: string, emoji: string, on: boolean): void {
  const who = m.reactions.get(emoji) ?? new Set<string>();
  if (on) who.add(user);
  else who.delete(user);
  m.reactions.set(emoji, who);
}

function startEdit(id: string): void {
  const m = ownMessage(id);
  const row = [...$("log").querySelectorAll<HTMLElement>(".msg")].find((el) => el.dataset.id === id);
  const textEl = row?.querySelector<HTMLElement>(".text");
  if (!m || !row || !textEl) return;
  const form = document.createElement("form");
  form.className = "edit";
  const label = document.createElement("label");
  label.className = "sr-only";
  label.textContent = "Edit your message";
  const area = document.createElement("textarea");
  area.value = m.text;
  area.id = `edit-${CSS.escape(id)}`;
  label.htmlFor = area.id;
  const problem = document.createElement("p");
  problem.className = "too-long";
  problem.setAttribute("role", "alert");
  const save = document.createElement("button");
  save.textContent = "Save";
  const cancel = button("Cancel editing", "Cancel", () => redraw(m));
  form.append(label, area, problem, save, cancel);
  area.oninput = () => {
    problem.textContent = tooLong(area.value) ?? "";
    save.disabled = Boolean(problem.textContent);
  };
  area.onkeydown = (e) => {
    if (e.key === "Escape") redraw(m);
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  };
  form.onsubmit = (e) => {
    e.preventDefault();
    if (tooLong(area.value) || !area.value.trim()) return;
    edit(id, area.value);
    redraw(m);
  };
  textEl.replaceWith(form);
  area.focus();
}

let lastTyped = 0;
function typingNow(): void {
  if (!canSend() || !me) return;
  const now = Date.now();
  if (now - lastTyped < TYPING_EVERY_MS) return;
  lastTyped = now;
  const to = peerOf(active);
  // Nobody to tell: a direct conversation with someone who left.
  if (to !== undefined && !members.has(to)) return;
  post("typing", { at: now }, to).catch(() => undefined);
}

/** Tells the platform (for this user only) how far the open conversation is read. */
let readTimer: ReturnType<typeof setTimeout> | undefined;
function markRead(now = false): void {
  clearTimeout(readTimer);
  const flush = () => {
    if (!me || !canReadMark()) return;
    const conv = active;
    const upto = (convs.get(conv) ?? []).filter((m) => !m.system).at(-1)?.id ?? "";
    if (sentRead.get(conv) === upto) return;
    sentRead.set(conv, upto);
    post("read", { conv: conv === "all" ? "all" : conv.slice(3), upto, at: Date.now() }, myId()).catch(() => sentRead.delete(conv));
  };
  if (now) flush();
  else readTimer = setTimeout(flush, 1200);
}
/** A read mark needs this user to be in the object (subscribed or joined) on our platform. */
const canReadMark = (): boolean => historyState === "loaded" && (myStatus === "joined" || myStatus === "subscribed" || myStatus === "left");

// ---- state -------------------------------------------------------------------------------

function notice(text: string, conv: ConvKey): void {
  add({ id: newId(), conv, from: "", name: "", avatarUrl: "", text, at: Date.now(), mine: false, system: "error", mentions: [], reactions: new Map() }, false);
}

function openConv(key: ConvKey): void {
  if (!convs.has(key)) convs.set(key, []);
  if (key !== active) markRead(true);
  active = key;
  unread.set(key, 0);
  mentioned.set(key, 0);
  renderConvs();
  renderLog();
  renderTyping();
  markRead();
  $<HTMLTextAreaElement>("text").focus();
}

/** Adds a message once (by id); `live` messages outside the open conversation count as unread. */
function add(m: Msg, live: boolean): void {
  if (byId.has(m.id)) return;
  byId.set(m.id, m);
  if (staging) {
    // An older page: below everything, drawn by loadOlder once the page is in.
    m.order = ++olderOrder;
    const older = staging.get(m.conv) ?? [];
    older.push(m);
    staging.set(m.conv, older);
    for (const op of early.get(m.id) ?? []) applyOp(op);
    early.delete(m.id);
    return;
  }
  m.order = ++order;
  let list = convs.get(m.conv);
  if (!list) {
    list = [];
    convs.set(m.conv, list);
  }
  list.push(m);
  for (const op of early.get(m.id) ?? []) applyOp(op);
  early.delete(m.id);
  typing.delete(m.from);
  if (live && !m.mine && !m.system && m.conv !== active) {
    unread.set(m.conv, (unread.get(m.conv) ?? 0) + 1);
    if (mentionsMe(m)) mentioned.set(m.conv, (mentioned.get(m.conv) ?? 0) + 1);
  }
  if (m.conv === active && !replaying) {
    const log = $("log");
    const stick = nearBottom(log) || m.mine;
    if (list.length === 1) log.replaceChildren(startEl(list, 0));
    log.append(messageEl(m));
    shown.set(active, (shown.get(active) ?? PAGE) + 1);
    if (stick) log.scrollTop = log.scrollHeight;
    if (live && !m.mine) markRead();
  }
  if (!replaying) {
    renderConvs();
    renderTyping();
  }
}
/** True while the history is replayed: nothing is drawn until it is all in. */
let replaying = false;

/** An edit, deletion or reaction from `op.source`; edits and deletions only from the author. */
function applyOp(op: RelayedMessage): boolean {
  const body = record(op.message);
  const id = str(body?.id, 80);
  const m = id ? byId.get(id) : undefined;
  if (!body || !id) return true;
  if (!m) {
    const list = early.get(id) ?? [];
    if (list.length < 50) list.push(op);
    early.set(id, list);
    return false;
  }
  if (m.system) return true;
  switch (op.event) {
    case "edit": {
      const text = str(body.text, MAX_TEXT);
      if (op.source !== m.from || m.deleted || !text.trim()) return true;
      m.text = text;
      m.edited = num(body.at) ?? Date.now();
      break;
    }
    case "delete":
      if (op.source !== m.from) return true;
      m.deleted = true;
      m.text = "";
      break;
    case "react": {
      const emoji = str(body.emoji, 16);
      if (!emoji || [...emoji].length > 8) return true;
      applyReaction(m, op.source, emoji, body.on !== false);
      break;
    }
    default:
  }
  if (m.conv === active && !replaying && !staging) redraw(m);
  return true;
}

/** Every relayed message, live (`live`) or from history. */
function receive(m: RelayedMessage, live: boolean): void {
  switch (m.event) {
    case "chat":
    case "system": {
      const msg = readChat(m, Date.now());
      if (msg) add(msg, live);
      return;
    }
    case "edit":
    case "delete":
    case "react":
      if (convOf(m) !== "self") applyOp(m);
      return;
    case "typing":
      if (live && m.source !== myId()) {
        const conv = convOf(m);
        if (conv !== "self") typing.set(m.source, { conv, until: Date.now() + TYPING_SHOWN_MS });
        renderTyping();
      }
      return;
    case "read": {
      // Only this user's own marks, addressed to this user.
      if (m.source !== myId() || m.to !== myId()) return;
      const body = record(m.message);
      const conv = str(body?.conv, 200);
      if (!conv || typeof body?.upto !== "string") return;
      const key = conv === "all" ? "all" : `dm:${conv}`;
      const at = ++order;
      lastRead.set(key, at);
      firstMark ??= at;
      sentRead.set(key, str(body.upto, 80));
      if (live) {
        // Read in another tab of this user.
        unread.set(key, 0);
        mentioned.set(key, 0);
        renderConvs();
      }
      return;
    }
    default:
  }
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

plugin.on("ovice_message", (m) => receive(m, true));

/** Loads the object's past messages through the meetbridge history extension, if any. */
async function loadHistory(): Promise<void> {
  const past: RelayedMessage[] = [];
  try {
    // The newest page first; older ones are fetched when the user scrolls up to them.
    const newest = await plugin.getHistory({ backward: true, limit: HISTORY_LIMIT });
    if (!newest.supported) {
      historyState = "unsupported";
      return;
    }
    for (const entry of newest.entries) past.push(entry.message);
    if (newest.missed) historyCut = true;
    if (newest.from !== undefined || newest.start === true) {
      historyStart = newest.start;
      historyBefore = newest.from;
    } else {
      // A platform that pages only forwards answered from the oldest: read on from there.
      let since = newest.upto;
      for (let page = 1, more = newest.more; page < 4 && more; page += 1) {
        const result = await plugin.getHistory({ limit: HISTORY_LIMIT, since });
        if (!result.supported) break;
        for (const entry of result.entries) past.push(entry.message);
        more = result.more;
        since = result.upto;
      }
    }
    historyState = "loaded";
  } catch (e) {
    console.info("chat: history unavailable", e);
    historyState = "failed";
  } finally {
    // Older messages go before whatever arrived live meanwhile.
    const live = new Map(convs);
    for (const key of live.keys()) convs.set(key, []);
    byId.clear();
    order = 0;
    replaying = true;
    for (const m of past) receive(m, false);
    replaying = false;
    for (const [key, list] of live) {
      for (const m of list) {
        if (byId.has(m.id)) continue;
        byId.set(m.id, m);
        m.order = ++order;
        const into = convs.get(key) ?? [];
        into.push(m);
        convs.set(key, into);
      }
    }
    countUnread();
  }
}

/**
 * After the history: in each conversation, what others wrote after this user's last read
 * mark there (else after their first mark anywhere: a conversation that began while they
 * were away) is unread, and in the open one marked by a "New" line. Without any mark (a
 * first visit) nothing from the history is unread.
 */
function countUnread(): void {
  for (const [key, list] of convs) {
    const mark = lastRead.get(key) ?? firstMark;
    if (mark === undefined) continue;
    const after = list.filter((m) => (m.order ?? 0) > mark && !m.mine && !m.system);
    firstUnread.set(key, after[0]?.id ?? "");
    if (key === active) continue;
    unread.set(key, after.length);
    mentioned.set(key, after.filter(mentionsMe).length);
  }
}
/** Per conversation: the first message after the last-read mark when the chat loaded. */
const firstUnread = new Map<ConvKey, string>();
/** Conversations already scrolled to their "New" line once. */
const scrolledToNew = new Set<ConvKey>();

// ---- wiring ------------------------------------------------------------------------------

const text = $<HTMLTextAreaElement>("text");
$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  if (tooLong(text.value)) {
    renderComposer();
    return;
  }
  if (send(text.value)) {
    text.value = "";
    text.style.height = "";
  }
  renderComposer();
});
text.addEventListener("keydown", (e) => {
  const suggestion = $("mention-suggest").querySelector("button");
  if (e.key === "Tab" && !e.shiftKey && suggestion && !$("mention-suggest").hidden) {
    e.preventDefault();
    suggestion.focus();
    return;
  }
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $<HTMLFormElement>("composer").requestSubmit();
  }
});
text.addEventListener("input", () => {
  text.style.height = "";
  text.style.height = `${Math.min(text.scrollHeight, 120)}px`;
  if (text.value.trim()) typingNow();
  renderComposer();
  suggestMentions();
});

/** The "@word" being typed before the caret, if any. */
function mentionAtCaret(): { start: number; query: string } | undefined {
  const caret = text.selectionStart ?? text.value.length;
  const m = /(^|\s)@([^\s@]{0,40})$/.exec(text.value.slice(0, caret));
  return m ? { start: caret - m[2].length - 1, query: m[2].toLowerCase() } : undefined;
}

/** Offers the members whose name starts with what follows "@" (Tab reaches them, Enter picks). */
function suggestMentions(): void {
  const box = $("mention-suggest");
  const at = mentionAtCaret();
  const list = at
    ? [...members.values()].filter(({ p }) => !p.isSelf && p.name.toLowerCase().startsWith(at.query)).slice(0, 5)
    : [];
  box.hidden = list.length === 0;
  box.replaceChildren();
  if (!at || list.length === 0) return;
  const label = document.createElement("span");
  label.textContent = "Mention:";
  box.append(label);
  for (const { p } of list) {
    box.append(
      button(`Mention ${p.name}`, p.name, () => {
        const caret = text.selectionStart ?? text.value.length;
        text.setRangeText(`@${p.name} `, at.start, caret, "end");
        box.hidden = true;
        text.focus();
        renderComposer();
      }),
    );
  }
}
$("log").addEventListener("scroll", () => {
  if ($("log").scrollTop < 30) showEarlier();
});
const emojiBar = document.querySelector<HTMLElement>(".emoji");
for (const e of EMOJI) {
  emojiBar?.append(
    button(`Insert ${e}`, e, () => {
      const at = text.selectionStart ?? text.value.length;
      text.setRangeText(e, at, text.selectionEnd ?? at, "end");
      text.focus();
      renderComposer();
    }),
  );
}
$("people-toggle").onclick = () => {
  const panel = $("people");
  panel.hidden = !panel.hidden;
  $("people-toggle").setAttribute("aria-expanded", String(!panel.hidden));
};
// Leaving the page: say how far this user read, now rather than after the debounce.
addEventListener("pagehide", () => markRead(true));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") markRead(true);
});

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
  mentioned: () => Object.fromEntries(mentioned),
  lastRead: () => Object.fromEntries(lastRead),
  messages: (key: ConvKey = "all") =>
    (convs.get(key) ?? []).map((m) => ({
      id: m.id,
      from: m.from,
      name: m.name,
      text: m.text,
      mine: m.mine,
      system: m.system,
      edited: Boolean(m.edited),
      deleted: Boolean(m.deleted),
      mention: mentionsMe(m),
      delivery: m.delivery,
      reason: m.reason,
      reactions: Object.fromEntries([...m.reactions].filter(([, w]) => w.size > 0).map(([e, w]) => [e, [...w].sort()])),
    })),
  members: () => [...members.values()].map((m) => ({ id: String(m.p.id), name: m.p.name, status: m.status, isHost: m.p.isHost })),
  open: openConv,
  send,
  edit,
  remove,
  react,
  retry,
  markRead: () => markRead(true),
};

async function start(): Promise<void> {
  renderConvs();
  renderLog();
  renderComposer();
  try {
    const list = await plugin.getParticipants();
    for (const p of list) setMember(p, p.status ?? "subscribed");
  } catch (e) {
    console.info("chat: no participant list yet", e);
  }
  await loadHistory();
  renderConvs();
  renderLog();
  renderComposer();
  markRead();
}

void start();
