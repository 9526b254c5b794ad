// How a page becomes a participant of the space: the demo server's dev login by name, then
// the host runtime connected with the token it issued, and the connection badge. Shared by
// the space view (space.ts) and the meeting page (meeting/meeting.ts), so both log in and
// report the connection the same way. The multi-user dev view logs in once per column and
// draws its own status, so it calls host/index.ts directly.
import { devLogin, loadSpaceHost, serverInfo, wsUrl, type HostEvent, type Login, type ServerInfo, type SpaceHost } from "../host/index";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const NAME_KEY = "meetbridge-name";
/** The dev login's limit (the server refuses longer names). */
export const MAX_NAME = 64;

export interface Session {
  info: ServerInfo;
  /** The name this user logged in with. */
  name: string;
  login: Login;
  /** The space the token is for: the login's, else the server's demo space. */
  space: string;
}

/** A name as typed, trimmed, or the words that say why it cannot be used. */
export function checkName(raw: string): { name: string } | { error: string } {
  const name = raw.trim().replace(/\s+/g, " ");
  if (!name) return { error: "Enter a name: the others see it next to your avatar and your messages." };
  const length = [...name].length;
  if (length > MAX_NAME) return { error: `That name is ${length} characters long; use at most ${MAX_NAME}.` };
  return { name };
}

/** Shows `error` under the name field (or clears it) and marks the field. */
function showNameError(error: string): void {
  const input = $<HTMLInputElement>("name");
  const out = $("login-error");
  out.textContent = error;
  input.setAttribute("aria-invalid", String(Boolean(error)));
  if (error) input.focus();
}

/** Waits for the user to submit the login form with a usable name. */
function typedName(prefill = ""): Promise<string> {
  const form = $<HTMLFormElement>("login");
  const input = $<HTMLInputElement>("name");
  input.maxLength = MAX_NAME;
  if (prefill) input.value = prefill;
  form.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    form.onsubmit = (e) => {
      e.preventDefault();
      const checked = checkName(input.value);
      if ("error" in checked) {
        showNameError(checked.error);
        return;
      }
      showNameError("");
      resolve(checked.name);
    };
  });
}

/** Why a login failed, in words for the person who typed the name. */
function loginProblem(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  if (/Failed to fetch|NetworkError|network/i.test(text)) return "The server did not answer. Check that it is running (make run), then try again.";
  if (/ 400 /.test(text)) return "The server did not accept that name. Use 1 to 64 characters.";
  return "Logging in failed. Try again; if it keeps failing, restart the server.";
}

/** The banner every page logged in by the dev login shows, above everything. */
export function showDemoBanner(): void {
  if (document.getElementById("demo-banner")) return;
  const banner = document.createElement("div");
  banner.id = "demo-banner";
  banner.className = "demo-banner";
  banner.setAttribute("role", "status");
  banner.textContent = "demo login: anyone can be anyone";
  document.body.prepend(banner);
}

/**
 * DEV ONLY: asks the name (`?name=`, else the one this tab logged in with before, else the
 * page's form#login) and logs in to the space of `?space=` (else the server's default).
 * The name is remembered for this tab only once the login succeeded; a failed login shows
 * why in the form and asks again. On a server that is not in demo mode, shows `notDemo`
 * in the page and resolves to null.
 */
export async function devSession(notDemo: string): Promise<Session | null> {
  const info = await serverInfo();
  if (!info.devLogin) {
    showFatal(notDemo);
    return null;
  }
  showDemoBanner();
  const space = new URLSearchParams(location.search).get("space") ?? undefined;
  const given = new URLSearchParams(location.search).get("name") ?? sessionStorage.getItem(NAME_KEY);
  let candidate = given ? checkName(given) : undefined;
  for (;;) {
    let name: string;
    if (candidate && "name" in candidate) {
      name = candidate.name;
    } else {
      const typed = typedName(given ?? "");
      if (candidate && "error" in candidate) showNameError(candidate.error);
      name = await typed;
    }
    try {
      const login = await devLogin(name, space);
      sessionStorage.setItem(NAME_KEY, name);
      $("login").hidden = true;
      return { info, name, login, space: login.space ?? info.demoSpace ?? "demo" };
    } catch (e) {
      console.warn("login failed", e);
      sessionStorage.removeItem(NAME_KEY);
      candidate = undefined;
      const form = $<HTMLFormElement>("login");
      form.hidden = false;
      showNameError(loginProblem(e));
    }
  }
}

/** A new SpaceHost that reports to `onEvent`, connected to this server's WebSocket with `token`. */
export async function connectHost(info: ServerInfo, token: string, onEvent: (e: HostEvent) => void): Promise<SpaceHost> {
  const SpaceHostClass = await loadSpaceHost();
  const host = new SpaceHostClass();
  host.onEvent(onEvent);
  host.connect(wsUrl(info.ws), token);
  return host;
}

const STATE_WORDS: Record<string, string> = { open: "connected", connecting: "connecting…", closed: "offline" };

/** Shows a `state` event in the header's span#conn: in words, or the reconnect countdown. */
export function showConnection(e: Extract<HostEvent, { kind: "state" }>): void {
  $("conn").textContent =
    e.state === "closed" && e.retryInMs ? `reconnecting in ${Math.round(e.retryInMs / 100) / 10} s` : (STATE_WORDS[e.state] ?? e.state);
  $("conn").className = `badge ${e.state}`;
}

/** Shows a problem the page cannot recover from, in words, with what to do. */
export function showFatal(text: string): void {
  const p = document.createElement("p");
  p.className = "fatal";
  p.setAttribute("role", "alert");
  p.textContent = text;
  document.querySelector("main:not([hidden])")?.setAttribute("hidden", "");
  document.body.append(p);
}
