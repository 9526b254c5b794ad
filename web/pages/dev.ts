// The multi-user dev view: one object opened as N users side by side. Each column is its
// own participant (dev login with its own name), with its own SpaceHost and WebSocket, so a
// plugin author sees how their plugin behaves with many users at once.
//
// URL parameters (all optional): object=<id>, users=<n>, names=Alice,Bob,…, url=<plugin
// URL to load instead of the object's>, pluginOrigin=<origin to load the object's plugin
// from, e.g. http://127.0.0.1:8080 while the page is on localhost: a cross-origin plugin>,
// sandbox=<sandbox attribute>, allow=<allow attribute>, presence=subscribed|joined (default
// subscribed), grace=<ms a leaving plugin may stay, default 5000>.
//
// Each column says where its user is and how it is connected in words (words.ts), and the
// last refusal the server sent for it; the protocol's names stay in `users[i].events`.
import type { PresenceStatus } from "../../crates/protocol/bindings/protocol";
import { devLogin, listObjects, loadSpaceHost, serverInfo, wsUrl, FLOOR_URL, type HostEvent, type SpaceHost } from "../host/index";
import { showFatal } from "./session";
import { connectionWords, presenceSentence, problemWords, startProblem } from "./words";

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

/** What a presence change does, for a refusal's sentence ("Ann could not link"). */
const ACTION: Record<PresenceStatus, string> = { subscribed: "come near", joined: "link", left: "unlink", unsubscribed: "walk away" };

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
    const host = new SpaceHost({
      ...(grace === null ? {} : { graceMs: Number(grace) }),
      // A token the server ended (4401): the dev login gives this column a fresh one.
      refreshToken: () => devLogin(name, params.get("space") ?? undefined).then((l) => l.token, () => null),
      allowHttpPlugins: info.allowHttpPlugins,
    });
    const column = document.createElement("section");
    column.className = "user";
    column.dataset.user = String(session.participant.id);
    const head = document.createElement("header");
    const title = document.createElement("strong");
    title.textContent = name;
    const status = document.createElement("div");
    status.className = "status";
    status.setAttribute("role", "status");
    const problem = document.createElement("div");
    problem.className = "problem";
    problem.setAttribute("role", "alert");
    const frame = document.createElement("div");
    frame.className = "frame";
    const user: User = { name, host, events: [], column };
    let presence: PresenceStatus = first;
    let conn: Extract<HostEvent, { kind: "state" }> | undefined;
    /** What the plugin is doing while its user walks away (shown instead of the presence). */
    let plugin: "leaving" | "closed" | undefined;
    const render = () => {
      const where = plugin === "leaving" ? "Walking away: the plugin has a moment to hand over" : plugin === "closed" ? "Walked away: the plugin has gone" : presenceSentence(presence);
      status.textContent = `${where} · ${connectionWords(conn)}`;
    };
    const set = (s: PresenceStatus) => {
      presence = s;
      if (s !== "unsubscribed") plugin = undefined;
      problem.textContent = "";
      render();
      host.setPresence(object, s).catch((e: Error & { code?: string }) => {
        console.warn(e.message);
        problem.textContent = problemWords(e.code, `${name} could not ${ACTION[s]}`);
      });
    };
    /** A column's button: its words on it, and whose column it acts for to a screen reader. */
    const action = (label: string, key: string, f: () => void) => {
      const b = button(label, f);
      b.dataset.action = key;
      b.setAttribute("aria-label", `${label} (${name})`);
      return b;
    };
    head.append(
      title,
      action("Link", "link", () => set("joined")),
      action("Unlink", "unlink", () => set("left")),
      action("Walk away", "away", () => {
        set("unsubscribed");
        host.closeObject(object);
      }),
      action("Come near", "near", () => {
        if (!host.frameOf(object) || host.isLeaving(object)) host.openObject(object, pluginUrl, frame, frameOptions);
        set("subscribed");
      }),
      action("Drop the connection", "drop", () => host.dropConnection()),
    );
    column.append(head, status, problem, frame);
    $("users").append(column);
    host.onEvent((e) => {
      user.events.push(e);
      if (e.kind === "state") conn = e;
      // The user walked away: the plugin may still hand over for a moment.
      if (e.kind === "leaving" || e.kind === "closed") {
        column.classList.toggle("leaving", e.kind === "leaving");
        plugin = e.kind;
      }
      if (e.kind === "refused") problem.textContent = problemWords(e.code, "A message from the plugin was refused");
      if (e.kind === "error" && e.req === undefined) problem.textContent = problemWords(e.code, "The server reported a problem");
      if (e.kind === "sessionEnded") problem.textContent = `${name}'s login ended (it expired or was revoked). Open the object again to log in anew.`;
      render();
    });
    host.connect(info.servers.length > 0 ? info.servers : wsUrl(info.ws), session.token);
    host.openObject(object, pluginUrl, frame, frameOptions);
    set(first);
    users.push(user);
  }
}

async function main(): Promise<void> {
  const info = await serverInfo();
  if (!info.devLogin) {
    showFatal("This server is not in demo mode, so the dev view is off: it logs every column in by name, which only the demo allows. Start the server with --demo (make run does).");
    return;
  }
  const probe = await devLogin("Dev view", params.get("space") ?? undefined);
  const space = probe.space ?? info.demoSpace ?? "demo";
  const objects = (await listObjects(space, probe.token)).filter((o) => o.pluginUrl !== FLOOR_URL);
  const select = $<HTMLSelectElement>("object");
  for (const o of objects) select.append(new Option(`${o.name} (${o.id}) · ${o.pluginUrl}`, o.id));
  const wanted = params.get("object");
  if (wanted && objects.some((o) => o.id === wanted)) select.value = wanted;
  else if (wanted) $("notice").textContent = `There is no object “${wanted}” in space “${space}”. Pick one from the list, then Open.`;
  $<HTMLInputElement>("count").value = params.get("users") ?? "3";
  $<HTMLInputElement>("url").value = params.get("url") ?? "";
  const go = () => {
    const def = objects.find((o) => o.id === select.value);
    if (!def) return;
    let url = $<HTMLInputElement>("url").value.trim() || def.pluginUrl;
    const origin = params.get("pluginOrigin");
    if (origin && !$<HTMLInputElement>("url").value.trim()) url = new URL(def.pluginUrl, origin).href;
    const count = Math.max(1, Math.min(8, Number($<HTMLInputElement>("count").value) || 1));
    $("notice").textContent = "";
    open(def.id, url, count).catch((e: unknown) => {
      console.error(e);
      $("notice").textContent = startProblem("dev view", e).replace("could not start", `could not open ${def.name}`);
    });
  };
  $<HTMLFormElement>("controls").onsubmit = (e) => {
    e.preventDefault();
    go();
  };
  if (wanted && objects.some((o) => o.id === wanted)) go();
}

main().catch((e: unknown) => {
  console.error(e);
  showFatal(startProblem("dev view", e));
});
