// How a page becomes a participant of the space: the demo server's dev login by name, then
// the host runtime connected with the token it issued, and the connection badge. Shared by
// the space view (space.ts) and the meeting page (meeting/meeting.ts), so both log in and
// report the connection the same way. The multi-user dev view logs in once per column and
// draws its own status, so it calls host/index.ts directly.
import { devLogin, loadSpaceHost, serverInfo, wsUrl, type HostEvent, type Login, type ServerInfo, type SpaceHost } from "../host/index";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export interface Session {
  info: ServerInfo;
  /** The name this user logged in with. */
  name: string;
  login: Login;
  /** The space the token is for: the login's, else the server's demo space. */
  space: string;
}

/**
 * The name to log in with: `?name=`, else the one this tab used before, else what the user
 * types in the page's form#login (input#name), remembered for this tab.
 */
export async function askName(): Promise<string> {
  const given = new URLSearchParams(location.search).get("name") ?? sessionStorage.getItem("meetbridge-name");
  if (given) return given;
  const form = $<HTMLFormElement>("login");
  form.hidden = false;
  $<HTMLInputElement>("name").focus();
  return new Promise((resolve) => {
    form.onsubmit = (e) => {
      e.preventDefault();
      const name = $<HTMLInputElement>("name").value.trim();
      if (!name) return;
      sessionStorage.setItem("meetbridge-name", name);
      form.hidden = true;
      resolve(name);
    };
  });
}

/**
 * DEV ONLY: asks the name and logs in to the space of `?space=` (else the server's default).
 * On a server that is not in demo mode, shows `notDemo` in the page and resolves to null.
 */
export async function devSession(notDemo: string): Promise<Session | null> {
  const info = await serverInfo();
  if (!info.devLogin) {
    document.body.append(notDemo);
    return null;
  }
  const name = await askName();
  const login = await devLogin(name, new URLSearchParams(location.search).get("space") ?? undefined);
  return { info, name, login, space: login.space ?? info.demoSpace ?? "demo" };
}

/** A new SpaceHost that reports to `onEvent`, connected to this server's WebSocket with `token`. */
export async function connectHost(info: ServerInfo, token: string, onEvent: (e: HostEvent) => void): Promise<SpaceHost> {
  const SpaceHostClass = await loadSpaceHost();
  const host = new SpaceHostClass();
  host.onEvent(onEvent);
  host.connect(wsUrl(info.ws), token);
  return host;
}

/** Shows a `state` event in the header's span#conn: the state, or the reconnect countdown. */
export function showConnection(e: Extract<HostEvent, { kind: "state" }>): void {
  $("conn").textContent = e.state === "closed" && e.retryInMs ? `reconnecting in ${Math.round(e.retryInMs / 100) / 10}s` : e.state;
  $("conn").className = `badge ${e.state}`;
}
