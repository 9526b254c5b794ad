// How a page becomes a participant of the space, then the host runtime connected with its
// token, and the connection badge. Shared by the space view (space.ts) and the meeting page
// (meeting/meeting.ts), so both sign in and report the connection the same way:
//   1. back from the OpenID provider (`?code=`): the server trades the code (signin.ts);
//   2. embedded: a token in `#token=` or from an allow-listed parent window (signin.ts);
//   3. a session this tab already has;
//   4. otherwise the ways in this server offers: "Sign in" (OpenID Connect) and, with
//      --demo only, the dev login by name; with neither, the page says how to get in.
// When the server ends the socket's token (4401), the host runtime asks `refresh` for a
// fresh one: the parent again (embedded), a new dev login (demo); a provider's session
// cannot be renewed without a redirect, so the page then says the session ended.
// The multi-user dev view logs in once per column and draws its own status, so it calls
// host/index.ts directly.
import { devLogin, loadSpaceHost, serverInfo, wsUrl, type HostEvent, type Login, type ServerInfo, type SpaceHost } from "../host/index";
import {
  EMBED,
  answerParent,
  authConfig,
  completeSignIn,
  describeToken,
  embeddedToken,
  forgetSession,
  requestParentToken,
  signOut,
  startSignIn,
  storedSession,
  storeSession,
  tabStorage,
  type AuthConfig,
  type SignedIn,
} from "./signin";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const NAME_KEY = "meetbridge-name";
/** The dev login's limit (the server refuses longer names). */
export const MAX_NAME = 64;

export interface Session {
  info: ServerInfo;
  config: AuthConfig;
  /** The name this user logged in with. */
  name: string;
  /** The current token (replaced when the host runtime gets a fresh one). */
  login: Login;
  /** The space the token is for: the login's, else the server's demo space. */
  space: string;
  /** How this page signed in. */
  via: "oidc" | "embedded" | "dev";
  /** The parent origin that handed the token (embedded). */
  parent?: string | null;
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

/** The words a page shows when this server offers no way in. */
export const NO_WAY_IN =
  "Nobody can sign in here yet: this server has no identity provider and is not in demo mode. " +
  "To get in, the operator starts it with --oidc-issuer and --oidc-client-id (a “Sign in” button then appears here), " +
  "or an application embeds this page and hands it a token (in the address after #token=, or by postMessage from an origin given with --embed-origin), " +
  "or, on a test machine only, with --demo for the name login. The README's “Identity” section has the steps.";

const spaceParam = (): string | undefined => new URLSearchParams(location.search).get("space") ?? undefined;

function sessionOf(info: ServerInfo, config: AuthConfig, signed: SignedIn, parent?: string | null): Session {
  const space = signed.space ?? spaceParam() ?? info.demoSpace ?? undefined;
  if (!space) throw new SessionProblem("You are signed in, but no space was named: open this page with ?space=<the space's id>.");
  const via = signed.via === "oidc" ? "oidc" : "embedded";
  return { info, config, name: signed.participant.name, login: { token: signed.token, participant: signed.participant, space }, space, via, parent };
}

/** A problem already written for the person in front of the page. */
export class SessionProblem extends Error {}

const problemOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Signs this page in (see the top of this file), or shows how to get in and resolves to
 * null. Throws a SessionProblem whose message is for the person, when the sign-in failed.
 */
export async function enterSession(): Promise<Session | null> {
  const [info, config] = await Promise.all([serverInfo(), authConfig()]);
  let problem = "";
  const back = await completeSignIn().catch((e: unknown) => {
    problem = problemOf(e);
    return null;
  });
  if (back) return sessionOf(info, config, back);
  if (!problem) {
    const handed = await embeddedToken(config.embedOrigins);
    if (handed) {
      try {
        const signed = await describeToken(handed.token, "embedded");
        storeSession(signed);
        answerParent(handed.origin, { type: EMBED.signedIn, participant: signed.participant });
        return sessionOf(info, config, signed, handed.origin);
      } catch (e) {
        problem = `The token this page was handed was refused: ${problemOf(e)}`;
        answerParent(handed.origin, { type: EMBED.refused, message: problemOf(e) });
      }
    }
  }
  const stored = storedSession();
  if (!problem && stored && stored.via !== "key") {
    try {
      return sessionOf(info, config, await describeToken(stored.token, stored.via));
    } catch {
      forgetSession();
    }
  }
  if (!info.devLogin && !config.oidc) {
    showFatal(problem ? `${problem}. ${NO_WAY_IN}` : (config.oidcError ?? NO_WAY_IN));
    return null;
  }
  if (config.oidc) showSignIn(config, problem || config.oidcError || "", spaceParam() ?? info.demoSpace ?? undefined);
  else if (problem) showNameError(problem);
  if (!info.devLogin) {
    $("login").hidden = true;
    return new Promise<never>(() => {}); // the button redirects to the provider
  }
  return devSession(info, config);
}

/** The "Sign in" block of the welcome screen (OpenID Connect), with a problem to show. */
function showSignIn(config: AuthConfig, problem: string, space: string | undefined): void {
  let block = document.getElementById("signin");
  if (!block) {
    block = document.createElement("section");
    block.id = "signin";
    block.className = "login";
    block.setAttribute("aria-labelledby", "signin-title");
    const title = Object.assign(document.createElement("h2"), { id: "signin-title", textContent: "Sign in" });
    const words = Object.assign(document.createElement("p"), {
      className: "intro",
      textContent: `Sign in with your account at ${config.oidc ? new URL(config.oidc.issuer).host : "your identity provider"}.`,
    });
    const button = Object.assign(document.createElement("button"), { id: "oidc-signin", type: "button", textContent: "Sign in" });
    button.onclick = () => void startSignIn(config.oidc!, space);
    const error = Object.assign(document.createElement("p"), { id: "signin-error", className: "error" });
    error.setAttribute("role", "alert");
    block.append(title, words, button, error);
    ($("welcome") ?? document.body).prepend(block);
  }
  block.hidden = false;
  $("signin-error").textContent = problem;
}

/**
 * DEV ONLY: asks the name (`?name=`, else the one this tab logged in with before, else the
 * page's form#login) and logs in to the space of `?space=` (else the server's default).
 * The name is remembered for this tab only once the login succeeded; a failed login shows
 * why in the form and asks again. On a server that is not in demo mode, shows `notDemo`
 * in the page and resolves to null.
 */
async function devSession(info: ServerInfo, config: AuthConfig): Promise<Session> {
  showDemoBanner();
  const space = new URLSearchParams(location.search).get("space") ?? undefined;
  const given = new URLSearchParams(location.search).get("name") ?? tabStorage.get(NAME_KEY);
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
      tabStorage.set(NAME_KEY, name);
      $("login").hidden = true;
      const signin = document.getElementById("signin");
      if (signin) signin.hidden = true;
      return { info, config, name, login, space: login.space ?? info.demoSpace ?? "demo", via: "dev" };
    } catch (e) {
      console.warn("login failed", e);
      tabStorage.remove(NAME_KEY);
      candidate = undefined;
      const form = $<HTMLFormElement>("login");
      form.hidden = false;
      showNameError(loginProblem(e));
    }
  }
}

/** A fresh token for `session` when the server ended its token (null: none to be had). */
async function refresh(session: Session, reason: string): Promise<string | null> {
  let token: string | null = null;
  if (session.via === "dev") {
    token = (await devLogin(session.name, spaceParam()).catch(() => null))?.token ?? null;
  } else if (session.via === "embedded") {
    const handed = await requestParentToken(session.config.embedOrigins, reason);
    if (handed) {
      try {
        const signed = await describeToken(handed.token, "embedded");
        storeSession(signed);
        answerParent(handed.origin, { type: EMBED.signedIn, participant: signed.participant });
        token = signed.token;
      } catch (e) {
        answerParent(handed.origin, { type: EMBED.refused, message: problemOf(e) });
      }
    }
  }
  if (token) session.login.token = token;
  else forgetSession();
  return token;
}

/** The page's words when the host runtime ended the session, with the way back in. */
function showSessionEnded(session: Session, reason: string): void {
  if (document.getElementById("session-ended")) return;
  const box = document.createElement("div");
  box.id = "session-ended";
  box.className = "fatal";
  box.setAttribute("role", "alert");
  const again =
    session.via === "embedded" ? "The application that opened this page has to hand it a new token: reload it there." : "Sign in again to continue.";
  box.append(`Your session ended: ${reason}. Nothing more is sent or received. ${again}`);
  if (session.via !== "embedded") {
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: "Sign in again" });
    button.onclick = () => location.reload();
    box.append(" ", button);
  }
  document.body.prepend(box);
  $("conn").textContent = "signed out";
  $("conn").className = "badge closed";
}

/** The header's "Sign out": forgets the session (and signs out at the provider), then shows the way in. */
function addSignOut(session: Session, host: SpaceHost): void {
  if (document.getElementById("signout")) return;
  const button = Object.assign(document.createElement("button"), { id: "signout", type: "button", className: "signout", textContent: "Sign out" });
  button.onclick = () => {
    host.disconnect();
    forgetSession();
    tabStorage.remove(NAME_KEY);
    if (session.via === "oidc") return signOut(session.config);
    const url = new URL(location.href);
    url.searchParams.delete("name");
    if (session.via === "dev") return location.assign(url.href);
    showFatal("You signed out. The application that opened this page signs you in again when you reopen it.");
  };
  $("me").after(button);
}

/**
 * A new SpaceHost that reports to `onEvent`, connected with the session's token to the
 * server's WebSocket (or the list of nodes the server publishes), asking for a fresh token
 * when the server ends this one; the header gets "Sign out".
 */
export async function connectHost(session: Session, onEvent: (e: HostEvent) => void): Promise<SpaceHost> {
  const { info } = session;
  const SpaceHostClass = await loadSpaceHost();
  const host = new SpaceHostClass({ refreshToken: (reason) => refresh(session, reason), allowHttpPlugins: info.allowHttpPlugins });
  host.onEvent((e) => {
    if (e.kind === "sessionEnded") showSessionEnded(session, e.reason);
    onEvent(e);
  });
  host.connect(info.servers.length > 0 ? info.servers : wsUrl(info.ws), session.login.token);
  addSignOut(session, host);
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
