// The multi-user dev view: one object opened as N users side by side. Each column is its
// own participant (dev login with its own name), with its own SpaceHost and WebSocket, so a
// plugin author sees how their plugin behaves with many users at once.
//
// URL parameters (all optional): object=<id>, users=<n>, names=Alice,Bob,…, url=<plugin
// URL to load instead of the object's>, pluginOrigin=<origin to load the object's plugin
// from, e.g. http://127.0.0.1:8080 while the page is on localhost: a cross-origin plugin>,
// sandbox=<sandbox attribute>, allow=<allow attribute>, presence=subscribed|joined (default
// subscribed), grace=<ms a leaving plugin may stay, default 5000>.
import type { PresenceStatus } from "../../crates/protocol/bindings/protocol";
import { devLogin, listObjects, loadSpaceHost, serverInfo, wsUrl, FLOOR_URL, type HostEvent, type SpaceHost } from "../host/index";

const NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"];
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

interface User {
  name: string;
  host: SpaceHost;
  events: HostEvent[];
  column: HTMLElement;
}
const users: User[] = [];
(window as unknown as { meetbridge: unknown }).meetbridge = { users };

function button(label: string, onclick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.textContent = label;
  b.onclick = onclick;
  return b;
}

async function open(object: string, pluginUrl: string, count: number): Promise<void> {
  for (const u of users.splice(0)) {
    u.host.disconnect();
    u.host.free();
    u.column.remove();
  }
  const info = await serverInfo();
  const names = (params.get("names") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const SpaceHost = await loadSpaceHost();
  const sandbox = params.get("sandbox");
  const allow = params.get("allow");
  const grace = params.get("grace");
  const frameOptions = { ...(sandbox === null ? {} : { sandbox }), ...(allow === null ? {} : { allow }) };
  const first: PresenceStatus = params.get("presence") === "joined" ? "joined" : "subscribed";
  for (let i = 0; i < count; i++) {
    const name = names[i] ?? NAMES[i % NAMES.length] + (i >= NAMES.length ? ` ${i}` : "");
    const session = await devLogin(name, params.get("space") ?? undefined);
    const host = new SpaceHost(grace === null ? {} : { graceMs: Number(grace) });
    const column = document.createElement("section");
    column.className = "user";
    column.dataset.user = String(session.participant.id);
    const head = document.createElement("header");
    const title = document.createElement("strong");
    title.textContent = name;
    const status = document.createElement("div");
    status.className = "status";
    const frame = document.createElement("div");
    frame.className = "frame";
    const user: User = { name, host, events: [], column };
    let presence: PresenceStatus = first;
    const set = (s: PresenceStatus) => {
      presence = s;
      status.textContent = `${s} · ${host.connected ? "connected" : "offline"}`;
      host.setPresence(object, s).catch((e: Error) => console.warn(e.message));
    };
    head.append(
      title,
      button("link", () => set("joined")),
      button("unlink", () => set("left")),
      button("away", () => {
        set("unsubscribed");
        host.closeObject(object);
      }),
      button("near", () => {
        if (!host.frameOf(object) || host.isLeaving(object)) host.openObject(object, pluginUrl, frame, frameOptions);
        set("subscribed");
      }),
      button("drop socket", () => host.dropConnection()),
    );
    column.append(head, status, frame);
    $("users").append(column);
    host.onEvent((e) => {
      user.events.push(e);
      if (e.kind === "state") status.textContent = `${presence} · ${e.state}${e.retryInMs ? ` (retry in ${e.retryInMs} ms)` : ""}`;
      // The user walked away: the plugin may still hand over for a moment.
      if (e.kind === "leaving" || e.kind === "closed") {
        column.classList.toggle("leaving", e.kind === "leaving");
        status.textContent = `${presence} · ${e.kind === "leaving" ? "leaving…" : "plugin closed"}`;
      }
    });
    host.connect(wsUrl(info.ws), session.token);
    host.openObject(object, pluginUrl, frame, frameOptions);
    set(first);
    users.push(user);
  }
}

async function main(): Promise<void> {
  const info = await serverInfo();
  const probe = await devLogin("Dev view", params.get("space") ?? undefined);
  const space = probe.space ?? info.demoSpace ?? "demo";
  const objects = (await listObjects(space, probe.token)).filter((o) => o.pluginUrl !== FLOOR_URL);
  const select = $<HTMLSelectElement>("object");
  for (const o of objects) select.append(new Option(`${o.name} (${o.id}) · ${o.pluginUrl}`, o.id));
  const wanted = params.get("object");
  if (wanted) select.value = wanted;
  $<HTMLInputElement>("count").value = params.get("users") ?? "3";
  $<HTMLInputElement>("url").value = params.get("url") ?? "";
  const go = () => {
    const def = objects.find((o) => o.id === select.value);
    if (!def) return;
    let url = $<HTMLInputElement>("url").value.trim() || def.pluginUrl;
    const origin = params.get("pluginOrigin");
    if (origin && !$<HTMLInputElement>("url").value.trim()) url = new URL(def.pluginUrl, origin).href;
    const count = Math.max(1, Math.min(8, Number($<HTMLInputElement>("count").value) || 1));
    open(def.id, url, count).catch((e: Error) => console.error(e));
  };
  $<HTMLFormElement>("controls").onsubmit = (e) => {
    e.preventDefault();
    go();
  };
  if (wanted) go();
}

main().catch((e: Error) => {
  console.error(e);
  document.body.append(`Could not start: ${e.message}`);
});
