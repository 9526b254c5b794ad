// The space view: objects on a 2D floor, users as avatars. Walking near an object
// subscribes to it and shows its plugin, "Link" joins, "Unlink" leaves, walking away
// unsubscribes. Other users' avatars move through the space's floor object (FLOOR_URL):
// the page broadcasts its position there through the same host runtime and socket.
//
// The floor is W × H floor units for every user (positions travel in those units); it is
// drawn scaled to the width available, and panned inside #floor-wrap when narrower.
//
// Objects stand where the server says (their stored position, set in the admin console;
// layout.ts lays out the ones not placed yet), and the page follows the space's live
// `floor` events: objects added, moved, edited and removed appear, move, change and go
// without a reload; an open panel of a removed object closes and says so. Each plugin's
// iframe gets the sandbox and permissions its object narrows to.
import type { JsonValue, Participant, PlatformToPlugin, PluginToPlatform, PresenceStatus } from "../../crates/protocol/bindings/protocol";
import { ensureFloor, spaceView, FLOOR_URL, type HostEvent, type ObjectDef, type OpenObjectOptions, type SpaceHost } from "../host/index";
import { FLOOR_HEIGHT as H, FLOOR_WIDTH as W, RANGE, spots } from "./layout";
import { SessionProblem, connectHost, enterSession, showConnection, showFatal } from "./session";
import { presenceWords } from "./words";

/** Below this scale the floor is panned instead of shrunk further (text stays readable). */
const MIN_SCALE = 0.62;
/** Avatars closer than this (floor units) stand "at the same place" and are spread apart. */
const CROWD = 24;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface Placed {
  def: ObjectDef;
  x: number;
  y: number;
  el: HTMLElement;
  range: HTMLElement;
  /** The object's entry in the list beside the floor. */
  item: HTMLElement;
  state: HTMLElement;
  status?: PresenceStatus;
  panel?: HTMLElement;
  people: Map<string, Participant>;
}
interface Avatar {
  id: string;
  name: string;
  x: number;
  y: number;
  el: HTMLElement;
}

const objects = new Map<string, Placed>();
const others = new Map<string, Avatar>();
let host: SpaceHost;
let floorId: string | undefined;
let spaceId = "";
/** The login, whose token the host runtime replaces when it gets a fresh one. */
let currentLogin: { token: string } = { token: "" };
let myName = "";
let scale = 1;
const me: Avatar = { id: "", name: "", x: W / 2, y: H - 40, el: document.createElement("div") };

/** The first letters of the first two words, by grapheme (an emoji or a flag stays whole). */
export function initials(name: string): string {
  const seg = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  const firsts = name
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => seg.segment(w)[Symbol.iterator]().next().value?.segment ?? "");
  return firsts.slice(0, 2).join("").toUpperCase() || "?";
}

/** The meeting's chat (the chat room plugin in meeting mode) is an object of the space too. */
const isMeetingChat = (def: ObjectDef): boolean => /\/plugins\/chatroom\/.*mode=meeting/.test(def.pluginUrl);

function avatarEl(name: string, mine: boolean): HTMLElement {
  const el = document.createElement("div");
  el.className = mine ? "avatar me" : "avatar";
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", mine ? `You, ${name}` : name);
  const letters = document.createElement("span");
  letters.setAttribute("aria-hidden", "true");
  letters.textContent = initials(name);
  const label = document.createElement("span");
  label.className = "label";
  label.setAttribute("aria-hidden", "true");
  label.textContent = mine ? `${name} (you)` : name;
  el.append(letters, label);
  el.title = name;
  return el;
}

function place(el: HTMLElement, x: number, y: number): void {
  el.style.left = `${Math.round(x)}px`;
  el.style.top = `${Math.round(y)}px`;
}

/**
 * Draws every avatar at its position; avatars standing at the same place (within CROWD)
 * are spread on a small circle around it, in a stable order, so none hides another.
 */
function drawAvatars(): void {
  const all = [me, ...others.values()].sort((a, b) => a.id.localeCompare(b.id));
  const groups: Avatar[][] = [];
  for (const a of all) {
    const g = groups.find((list) => Math.hypot(list[0].x - a.x, list[0].y - a.y) < CROWD);
    if (g) g.push(a);
    else groups.push([a]);
  }
  for (const g of groups) {
    const r = g.length > 1 ? 16 + 4 * g.length : 0;
    g.forEach((a, i) => {
      const angle = (2 * Math.PI * i) / g.length - Math.PI / 2;
      const x = Math.max(17, Math.min(W - 17, g[0].x + r * Math.cos(angle)));
      const y = Math.max(17, Math.min(H - 17, g[0].y + r * Math.sin(angle)));
      place(a.el, x, y);
      a.el.dataset.x = String(Math.round(a.x));
      a.el.dataset.y = String(Math.round(a.y));
    });
  }
}

/** Fits the floor to the width available: scaled down to MIN_SCALE, then panned. */
function fitFloor(): void {
  const wrap = $("floor-wrap");
  const width = wrap.clientWidth;
  scale = Math.max(MIN_SCALE, Math.min(1, width / W));
  $("floor").style.transform = scale === 1 ? "" : `scale(${scale})`;
  Object.assign($("floor-size").style, { width: `${Math.round(W * scale)}px`, height: `${Math.round(H * scale)}px` });
  keepMeInView();
}

/** Pans the floor so that my avatar stays in view on a narrow screen. */
function keepMeInView(): void {
  const wrap = $("floor-wrap");
  const x = me.x * scale;
  if (x < wrap.scrollLeft + 40 || x > wrap.scrollLeft + wrap.clientWidth - 40) wrap.scrollLeft = x - wrap.clientWidth / 2;
}

/** Draws a new object on the floor and in the list (kept in id order); placed by `placeAll`. */
function addObject(def: ObjectDef): Placed {
  const range = document.createElement("div");
  range.className = "range";
  Object.assign(range.style, { width: `${2 * RANGE}px`, height: `${2 * RANGE}px` });
  const el = document.createElement("div");
  el.className = "object";
  el.dataset.object = def.id;
  el.append(document.createElement("strong"), document.createElement("small"));
  $("floor").append(range, el);
  const item = document.createElement("li");
  const go = document.createElement("button");
  go.type = "button";
  go.dataset.object = def.id;
  go.onclick = () => walkTo(def.id);
  const state = document.createElement("span");
  state.className = "state";
  item.append(go, state);
  const after = [...objects.values()].filter((o) => o.def.id.localeCompare(def.id) > 0).sort((a, b) => a.def.id.localeCompare(b.def.id))[0];
  $("object-list").insertBefore(item, after?.item ?? null);
  const o: Placed = { def, x: 0, y: 0, el, range, item, state, people: new Map() };
  objects.set(def.id, o);
  named(o);
  return o;
}

/** Writes the object's name wherever it shows (the floor, the list, an open panel). */
function named(o: Placed): void {
  const name = o.def.name;
  o.el.title = name;
  o.el.querySelector("strong")!.textContent = name;
  const go = o.item.querySelector("button")!;
  const verb = document.createElement("span");
  verb.className = "sr-only";
  verb.textContent = "Walk to ";
  go.replaceChildren(verb, name);
  go.title = `Walk to ${name}`;
  const title = o.panel?.querySelector("h3");
  if (title) title.textContent = name;
  o.panel?.querySelector("iframe")?.setAttribute("title", name);
  renderObject(o);
}

/** Puts every object at its spot: the server's position, else the grid of the unplaced. */
function placeAll(): void {
  const at = spots([...objects.values()].map((o) => o.def));
  for (const o of objects.values()) {
    const spot = at.get(o.def.id)!;
    o.x = spot.x;
    o.y = spot.y;
    place(o.el, o.x, o.y);
    Object.assign(o.range.style, { left: `${o.x - RANGE}px`, top: `${o.y - RANGE}px` });
  }
}

/**
 * The iframe's sandbox and permissions, as the object narrows them (absent: the host's
 * defaults). The host runtime keeps `allow-same-origin` from a plugin on the page's own
 * origin that may run scripts, narrowed or not.
 */
function frameOptions(def: ObjectDef): OpenObjectOptions {
  const { allow, sandbox } = def.settings;
  return { title: def.name, ...(sandbox ? { sandbox: sandbox.join(" ") } : {}), ...(allow ? { allow: allow.join("; ") } : {}) };
}

/** Whether a new definition needs the plugin loaded again (another page, another sandbox). */
function reloads(was: ObjectDef, now: ObjectDef): boolean {
  return JSON.stringify([was.pluginUrl, was.settings.sandbox, was.settings.allow]) !== JSON.stringify([now.pluginUrl, now.settings.sandbox, now.settings.allow]);
}

/** Takes an object's new definition: renamed, moved (placeAll), or its plugin reloaded. */
function updateObject(o: Placed, def: ObjectDef): void {
  const was = o.def;
  o.def = def;
  if (was.name !== def.name) named(o);
  const frame = o.panel?.querySelector<HTMLElement>(".frame");
  if (frame && reloads(was, def)) {
    host.openObject(def.id, pluginUrl(def), frame, frameOptions(def));
    announce(`${def.name} was changed by an administrator and opened again.`);
  }
}

/** An object is gone from the space: off the floor and the list; its open panel closes and says why. */
function removeObject(o: Placed): void {
  objects.delete(o.def.id);
  o.el.remove();
  o.range.remove();
  o.item.remove();
  const open = o.status !== undefined && o.status !== "unsubscribed";
  if (open) {
    host.setPresence(o.def.id, "unsubscribed").catch(() => {
      // The server has already let everyone go from a deleted object.
    });
  }
  // No grace period: the object is gone on the server too. A panel still leaving goes as well.
  o.panel = undefined;
  host.closeObject(o.def.id, { graceMs: 0 });
  for (const panel of $("panels").querySelectorAll(`.panel[data-object="${CSS.escape(o.def.id)}"]`)) panel.remove();
  if (open) {
    const text = `${o.def.name} was removed from the space by an administrator, so its panel closed.`;
    $("floor-notice").textContent = text;
    announce(text);
  }
}

/** Makes the floor show `defs` (the server's list): adds, updates and removes what differs. */
function sync(defs: readonly ObjectDef[]): void {
  const list = defs.filter((d) => d.pluginUrl !== FLOOR_URL);
  const ids = new Set(list.map((d) => d.id));
  for (const o of [...objects.values()]) if (!ids.has(o.def.id)) removeObject(o);
  for (const def of list) {
    const o = objects.get(def.id);
    if (o) updateObject(o, def);
    else addObject(def);
  }
  placeAll();
}

/** Walks next to an object (from the list: the keyboard's way in) and focuses its panel. */
function walkTo(id: string): void {
  const o = objects.get(id);
  if (!o) return;
  moveTo(o.x, o.y + 52);
  o.panel?.querySelector<HTMLButtonElement>("button.link")?.focus();
}

function announce(text: string): void {
  const el = $("announce");
  el.textContent = "";
  // A fresh text node so that screen readers announce the same words twice in a row too.
  requestAnimationFrame(() => (el.textContent = text));
}

function renderPeople(o: Placed): void {
  const div = o.panel?.querySelector(".people");
  if (!div) return;
  const list = [...o.people.values()];
  div.textContent = list.length
    ? `Here: ${list.map((p) => `${p.name}${p.isSelf ? " (you)" : ""}: ${presenceWords(p.status ?? "subscribed")}`).join(" · ")}`
    : "";
}

/** The line under a panel's title: what this object is and what to do. */
function panelHint(o: Placed): string {
  const linked = o.status === "joined";
  if (isMeetingChat(o.def)) {
    return linked ? "This is the meeting's chat: you can write. Unlink to stop." : "This is the meeting's chat: you can read it; Link to write.";
  }
  return linked ? `You are linked to ${o.def.name}. Unlink to stop taking part.` : `You are near ${o.def.name}: Link to take part.`;
}

function renderObject(o: Placed): void {
  const status = o.status;
  o.el.classList.toggle("near", status !== undefined && status !== "unsubscribed");
  o.el.classList.toggle("linked", status === "joined");
  const near = status !== undefined && status !== "unsubscribed";
  o.state.textContent = near ? presenceWords(status) : "";
  o.state.previousElementSibling?.setAttribute("aria-current", String(near));
  const sub = o.el.querySelector("small");
  if (sub) sub.textContent = [isMeetingChat(o.def) ? "meeting chat" : "", near ? presenceWords(status) : ""].filter(Boolean).join(" · ");
  const link = o.panel?.querySelector<HTMLButtonElement>("button.link");
  if (link) {
    const verb = status === "joined" ? "Unlink" : "Link";
    link.textContent = verb;
    link.setAttribute("aria-label", `${verb} ${o.def.name}`);
  }
  const what = o.panel?.querySelector(".what");
  if (what) what.textContent = panelHint(o);
}

function setStatus(o: Placed, status: PresenceStatus): void {
  const was = o.status;
  o.status = status;
  renderObject(o);
  if (was !== undefined && was !== "unsubscribed" && (status === "joined" || was === "joined")) {
    announce(status === "joined" ? `Linked to ${o.def.name}.` : `Unlinked from ${o.def.name}.`);
  }
  host.setPresence(o.def.id, status).catch((e: Error) => console.warn(e.message));
}

/** The URL to load an object's plugin from: the meeting chat learns that it is in the space. */
function pluginUrl(def: ObjectDef): string {
  if (!isMeetingChat(def)) return def.pluginUrl;
  const u = new URL(def.pluginUrl, location.href);
  u.searchParams.set("in", "space");
  return u.origin === location.origin ? `${u.pathname}${u.search}` : u.href;
}

function openPanel(o: Placed): void {
  const panel = document.createElement("section");
  panel.className = "panel";
  panel.dataset.object = o.def.id;
  const head = document.createElement("header");
  const title = document.createElement("h3");
  title.id = `panel-title-${o.def.id}`;
  title.textContent = o.def.name;
  panel.setAttribute("aria-labelledby", title.id);
  const link = document.createElement("button");
  link.type = "button";
  link.className = "link";
  link.onclick = () => setStatus(o, o.status === "joined" ? "left" : "joined");
  head.append(title, link);
  const what = document.createElement("p");
  what.className = "what";
  const people = document.createElement("div");
  people.className = "people";
  const frame = document.createElement("div");
  frame.className = "frame";
  panel.append(head, what, people, frame);
  $("panels").append(panel);
  o.panel = panel;
  host.openObject(o.def.id, pluginUrl(o.def), frame, frameOptions(o.def));
  announce(`${o.def.name} opened beside the floor. Link ${o.def.name} to take part.`);
}

function closePanel(o: Placed): void {
  // The plugin hears its own departure and may hand over before its iframe goes: the
  // panel stays, marked as leaving, until the host runtime closes it.
  const panel = o.panel;
  panel?.classList.add("leaving");
  panel?.querySelector("header")?.append(Object.assign(document.createElement("em"), { className: "leaving", textContent: "leaving…" }));
  host.closeObject(o.def.id, { onClosed: () => panel?.remove() });
  o.panel = undefined;
  o.people.clear();
  announce(`${o.def.name} closed: you walked away.`);
}

/** Subscribes to what is in range, unsubscribes from what is not. */
function proximity(): void {
  for (const o of objects.values()) {
    const near = Math.hypot(o.x - me.x, o.y - me.y) <= RANGE;
    const present = o.status !== undefined && o.status !== "unsubscribed";
    if (near && !present) {
      openPanel(o);
      setStatus(o, "subscribed");
    } else if (!near && present) {
      setStatus(o, "unsubscribed");
      closePanel(o);
    }
  }
}

function floorSend(message: PluginToPlatform): void {
  if (floorId) host.sendAsPage(floorId, message);
}

let lastSent = 0;
let trailing: ReturnType<typeof setTimeout> | undefined;
function sendPosition(to?: string): void {
  const message: JsonValue = { x: Math.round(me.x), y: Math.round(me.y), name: myName };
  if (to) {
    floorSend({ type: "ovice_emit_message", payload: { event: "pos", message, to } });
    return;
  }
  const now = Date.now();
  clearTimeout(trailing);
  if (now - lastSent >= 120) {
    lastSent = now;
    floorSend({ type: "ovice_broadcast_message", payload: { event: "pos", message } });
  } else {
    trailing = setTimeout(() => sendPosition(), 120);
  }
}

function moveTo(x: number, y: number): void {
  me.x = Math.max(17, Math.min(W - 17, x));
  me.y = Math.max(17, Math.min(H - 17, y));
  drawAvatars();
  keepMeInView();
  proximity();
  sendPosition();
}

function other(id: string, name: string): Avatar {
  let o = others.get(id);
  if (!o) {
    o = { id, name, x: 20, y: 20, el: avatarEl(name, false) };
    o.el.dataset.user = id;
    $("floor").append(o.el);
    others.set(id, o);
    drawAvatars();
  }
  return o;
}

const MAX_NAME_SHOWN = 64;

function onFloor(message: PlatformToPlugin): void {
  switch (message.type) {
    case "ovice_participants":
      for (const p of message.payload) if (!p.isSelf) other(String(p.id), p.name);
      break;
    case "ovice_participant_subscribed":
      if (!message.payload.isSelf) {
        other(String(message.payload.id), message.payload.name);
        sendPosition(String(message.payload.id));
      }
      break;
    case "ovice_participant_unsubscribed": {
      const id = String(message.payload.id);
      others.get(id)?.el.remove();
      others.delete(id);
      drawAvatars();
      break;
    }
    case "ovice_message": {
      const m = message.payload;
      const pos = m.message as { x?: unknown; y?: unknown; name?: unknown };
      if (m.event === "pos" && typeof pos?.x === "number" && typeof pos.y === "number" && Number.isFinite(pos.x) && Number.isFinite(pos.y)) {
        const name = typeof pos.name === "string" && pos.name.trim() ? pos.name.slice(0, MAX_NAME_SHOWN) : m.source;
        const a = other(m.source, name);
        a.x = Math.max(0, Math.min(W, pos.x));
        a.y = Math.max(0, Math.min(H, pos.y));
        drawAvatars();
      }
      break;
    }
    default:
  }
}

/** The space's objects as the server has them now (after a reconnect: floor events are not replayed). */
async function refetch(): Promise<void> {
  try {
    const view = await spaceView(spaceId, currentLogin.token);
    $("space-name").textContent = view.space.name;
    sync(view.objects);
    proximity();
  } catch (e) {
    console.warn("meetbridge: could not read the space again", e);
  }
}

/** A live change of the space's floor (the server's `floor` frame). */
function onFloorChange(e: Extract<HostEvent, { kind: "floor" }>): void {
  if (e.space !== spaceId) return;
  switch (e.change) {
    case "added":
    case "updated": {
      if (e.object.pluginUrl === FLOOR_URL) break;
      const o = objects.get(e.object.id);
      if (o) updateObject(o, e.object);
      else addObject(e.object);
      placeAll();
      proximity();
      break;
    }
    case "removed": {
      const o = objects.get(e.id);
      if (o) removeObject(o);
      placeAll();
      break;
    }
    case "space_updated":
      $("space-name").textContent = e.def.name;
      break;
    case "space_removed":
      for (const o of [...objects.values()]) removeObject(o);
      host.disconnect();
      showFatal("This space was deleted by an administrator. Ask them which space to use now.");
      break;
  }
}

let wasClosed = false;

function onEvent(e: HostEvent): void {
  switch (e.kind) {
    case "state":
      showConnection(e);
      if (e.state === "closed") wasClosed = true;
      if (e.state === "open" && wasClosed) {
        wasClosed = false;
        void refetch();
      }
      break;
    case "floor":
      onFloorChange(e);
      break;
    case "welcome":
      me.id = String(e.participant.id);
      $("me").textContent = e.participant.name;
      $("me").title = `Logged in as ${e.participant.name}`;
      break;
    case "plugin": {
      if (e.object === floorId) {
        onFloor(e.message);
        break;
      }
      const o = objects.get(e.object);
      if (!o) break;
      const m = e.message;
      if (m.type === "ovice_participants") {
        o.people.clear();
        for (const p of m.payload) o.people.set(String(p.id), p);
      } else if (m.type === "ovice_participant_unsubscribed") {
        o.people.delete(String(m.payload.id));
      } else if (m.type.startsWith("ovice_participant_")) {
        const p = (m as { payload: Participant }).payload;
        o.people.set(String(p.id), { ...p, status: m.type.replace("ovice_participant_", "") as PresenceStatus });
      }
      renderPeople(o);
      break;
    }
    case "refused":
      console.warn(`object ${e.object} refused ${e.refused ?? "a message"}: ${e.message}`);
      break;
    default:
  }
}

async function main(): Promise<void> {
  const session = await enterSession();
  if (!session) return;
  const { space, login } = session;
  myName = session.name;
  me.name = myName;
  me.id = String(login.participant.id);
  $("me").textContent = myName;
  spaceId = space;
  currentLogin = login;
  const view = await spaceView(space, login.token);
  $("space-name").textContent = view.space.name;
  const floor = await ensureFloor(space, login.token, view.objects);
  floorId = floor?.id;
  host = await connectHost(session, onEvent);
  (window as unknown as { meetbridge: unknown }).meetbridge = { host, objects, others, moveTo, walkTo, me, initials };
  $("welcome").hidden = true;
  $("space").hidden = false;
  sync(view.objects);
  fitFloor();
  new ResizeObserver(fitFloor).observe($("floor-wrap"));
  me.el = avatarEl(myName, true);
  me.el.dataset.user = me.id;
  $("floor").append(me.el);
  if (floorId) {
    host.setPresence(floorId, "subscribed").catch((e: Error) => console.warn(e.message));
    floorSend({ type: "ovice_get_participants" });
  }
  moveTo(me.x, me.y);
  const floorEl = $("floor");
  floorEl.onclick = (e) => {
    if ((e.target as HTMLElement).closest(".avatar")) return;
    const r = floorEl.getBoundingClientRect();
    moveTo((e.clientX - r.left) / scale, (e.clientY - r.top) / scale);
  };
  floorEl.onkeydown = (e) => {
    const step = 20;
    const d: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const v = d[e.key];
    if (v) {
      e.preventDefault();
      moveTo(me.x + v[0], me.y + v[1]);
    }
  };
  floorEl.focus();
}

main().catch((e: unknown) => {
  console.error(e);
  if (e instanceof SessionProblem) return showFatal(e.message);
  const why = e instanceof Error ? e.message : String(e);
  showFatal(
    /Failed to fetch|NetworkError/i.test(why)
      ? "The space could not start: the server did not answer. Check that it is running (make run), then reload this page."
      : "The space could not start. Reload the page; if it keeps failing, restart the server (make run) and look at its log.",
  );
});
