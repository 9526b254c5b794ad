// The space view: objects on a 2D floor, users as avatars. Walking near an object
// subscribes to it and shows its plugin, "Link" joins, "Unlink" leaves, walking away
// unsubscribes. Other users' avatars move through the space's floor object (FLOOR_URL):
// the page broadcasts its position there through the same host runtime and socket.
import type { JsonValue, Participant, PlatformToPlugin, PluginToPlatform, PresenceStatus } from "../../crates/protocol/bindings/protocol";
import { ensureFloor, listObjects, FLOOR_URL, type HostEvent, type ObjectDef, type SpaceHost } from "../host/index";
import { connectHost, devSession, showConnection } from "./session";

const RANGE = 120;
const W = 760;
const H = 520;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface Placed {
  def: ObjectDef;
  x: number;
  y: number;
  el: HTMLElement;
  status?: PresenceStatus;
  panel?: HTMLElement;
  people: Map<string, Participant>;
}
interface Other {
  name: string;
  el: HTMLElement;
}

const objects = new Map<string, Placed>();
const others = new Map<string, Other>();
let host: SpaceHost;
let floorId: string | undefined;
let myId = "";
let myName = "";
const me: { x: number; y: number; el: HTMLElement } = { x: W / 2, y: H - 40, el: document.createElement("div") };

function initials(name: string): string {
  return name.split(/\s+/).map((w) => w[0] ?? "").join("").slice(0, 2).toUpperCase() || "?";
}

function avatar(name: string, mine: boolean): HTMLElement {
  const el = document.createElement("div");
  el.className = mine ? "avatar me" : "avatar";
  el.textContent = initials(name);
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = mine ? `${name} (you)` : name;
  el.append(label);
  el.title = name;
  return el;
}

function place(el: HTMLElement, x: number, y: number): void {
  el.style.left = `${x}px`;
  el.style.top = `${y}px`;
}

function layout(defs: ObjectDef[]): void {
  const list = defs.filter((o) => o.pluginUrl !== FLOOR_URL).sort((a, b) => a.id.localeCompare(b.id));
  const cols = Math.max(1, Math.ceil(Math.sqrt(list.length)));
  const rows = Math.max(1, Math.ceil(list.length / cols));
  list.forEach((def, i) => {
    const x = Math.round(((i % cols) + 0.5) * (W / cols));
    const y = Math.round((Math.floor(i / cols) + 0.5) * ((H - 120) / rows) + 20);
    const range = document.createElement("div");
    range.className = "range";
    Object.assign(range.style, { left: `${x - RANGE}px`, top: `${y - RANGE}px`, width: `${2 * RANGE}px`, height: `${2 * RANGE}px` });
    const el = document.createElement("div");
    el.className = "object";
    el.dataset.object = def.id;
    const title = document.createElement("strong");
    title.textContent = def.name;
    const sub = document.createElement("small");
    sub.textContent = `${def.objectType} · ${def.pluginUrl}`;
    el.append(title, sub);
    place(el, x, y);
    $("floor").append(range, el);
    objects.set(def.id, { def, x, y, el, people: new Map() });
  });
}

function renderPeople(o: Placed): void {
  const div = o.panel?.querySelector(".people");
  if (div) {
    div.textContent = [...o.people.values()].map((p) => `${p.name}${p.isSelf ? " (you)" : ""}: ${p.status ?? "subscribed"}`).join(" · ");
  }
}

function setStatus(o: Placed, status: PresenceStatus): void {
  o.status = status;
  o.el.classList.toggle("near", status !== "unsubscribed");
  o.el.classList.toggle("linked", status === "joined");
  const link = o.panel?.querySelector<HTMLButtonElement>("button.link");
  if (link) link.textContent = status === "joined" ? "Unlink" : "Link";
  host.setPresence(o.def.id, status).catch((e: Error) => console.warn(e.message));
}

function openPanel(o: Placed): void {
  const panel = document.createElement("section");
  panel.className = "panel";
  panel.dataset.object = o.def.id;
  const head = document.createElement("header");
  const title = document.createElement("span");
  title.textContent = o.def.name;
  const link = document.createElement("button");
  link.className = "link";
  link.textContent = "Link";
  link.onclick = () => setStatus(o, o.status === "joined" ? "left" : "joined");
  head.append(title, link);
  const people = document.createElement("div");
  people.className = "people";
  const frame = document.createElement("div");
  frame.className = "frame";
  panel.append(head, people, frame);
  $("panels").append(panel);
  o.panel = panel;
  host.openObject(o.def.id, o.def.pluginUrl, frame, { title: o.def.name });
}

function closePanel(o: Placed): void {
  host.closeObject(o.def.id);
  o.panel?.remove();
  o.panel = undefined;
  o.people.clear();
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
  place(me.el, me.x, me.y);
  proximity();
  sendPosition();
}

function other(id: string, name: string): Other {
  let o = others.get(id);
  if (!o) {
    o = { name, el: avatar(name, false) };
    o.el.dataset.user = id;
    place(o.el, 20, 20);
    $("floor").append(o.el);
    others.set(id, o);
  }
  return o;
}

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
      break;
    }
    case "ovice_message": {
      const m = message.payload;
      const pos = m.message as { x?: number; y?: number; name?: string };
      if (m.event === "pos" && typeof pos?.x === "number" && typeof pos.y === "number") {
        place(other(m.source, String(pos.name ?? m.source)).el, pos.x, pos.y);
      }
      break;
    }
    default:
  }
}

function onEvent(e: HostEvent): void {
  switch (e.kind) {
    case "state":
      showConnection(e);
      break;
    case "welcome":
      myId = String(e.participant.id);
      $("me").textContent = `${e.participant.name} (${myId})`;
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
  const session = await devSession("This server is not in demo mode: the dev login is off. Embed SpaceHost with your own tokens.");
  if (!session) return;
  const { space, login } = session;
  myName = session.name;
  $("space-name").textContent = space;
  const defs = await listObjects(space, login.token);
  const floor = await ensureFloor(space, login.token, defs);
  floorId = floor?.id;
  host = await connectHost(session.info, login.token, onEvent);
  (window as unknown as { meetbridge: unknown }).meetbridge = { host, objects, others, moveTo, me };
  $("space").hidden = false;
  layout(defs);
  me.el = avatar(myName, true);
  $("floor").append(me.el);
  place(me.el, me.x, me.y);
  if (floorId) {
    host.setPresence(floorId, "subscribed").catch((e: Error) => console.warn(e.message));
    floorSend({ type: "ovice_get_participants" });
  }
  moveTo(me.x, me.y);
  const floorEl = $("floor");
  floorEl.onclick = (e) => {
    if ((e.target as HTMLElement).closest(".avatar")) return;
    const r = floorEl.getBoundingClientRect();
    moveTo(e.clientX - r.left, e.clientY - r.top);
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

main().catch((e: Error) => {
  console.error(e);
  document.body.append(`Could not start: ${e.message}`);
});
