// Signing a page in without the dev login: OpenID Connect (authorization code + PKCE; the
// server trades the code, validates the ID token against the issuer's JWKS and answers its
// own session token), or, for a page embedded by another application, a JWT handed over in
// the URL fragment (`#token=…`) or by postMessage from an allow-listed parent origin.
// The session token lives in sessionStorage (this tab only; in memory where the browser
// denies storage, as in a third-party iframe) and is never put in a URL.
import type { Identity } from "../../crates/protocol/bindings/protocol";

/** `GET /api/auth/config`: how this server lets pages sign in. */
export interface AuthConfig {
  devLogin: boolean;
  oidc: null | { issuer: string; clientId: string; authorizationEndpoint: string; endSessionEndpoint?: string; scope: string };
  /** Set when the issuer is configured but could not be reached. */
  oidcError?: string;
  /** Parent origins allowed to hand a token to an embedded page. */
  embedOrigins: string[];
}

export interface SignedIn {
  token: string;
  participant: Identity;
  role: string;
  space: string | null;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** How the token came: `oidc`, `embedded`, `dev`, `key`. */
  via: string;
}

/** Memory for when the browser denies sessionStorage (a third-party iframe may get none). */
const memory = new Map<string, string>();

/** This tab's storage: sessionStorage, or memory when the browser denies it. */
export const tabStorage = {
  get(key: string): string | null {
    try {
      return sessionStorage.getItem(key);
    } catch {
      return memory.get(key) ?? null;
    }
  },
  set(key: string, value: string): void {
    try {
      sessionStorage.setItem(key, value);
    } catch {
      memory.set(key, value);
    }
  },
  remove(key: string): void {
    try {
      sessionStorage.removeItem(key);
    } catch {
      memory.delete(key);
    }
  },
};

const SESSION = "meetbridge-session";
const PENDING = "meetbridge-oidc-pending";

/** A refused request's sentence (`message`), never the raw JSON. */
export async function explain(r: Response): Promise<string> {
  try {
    const body = (await r.json()) as { message?: string; error?: string };
    return body.message ?? body.error ?? `${r.status} ${r.statusText}`;
  } catch {
    return `${r.status} ${r.statusText}`;
  }
}

export async function authConfig(): Promise<AuthConfig> {
  const r = await fetch("/api/auth/config");
  if (!r.ok) throw new Error(await explain(r));
  return (await r.json()) as AuthConfig;
}

export function storedSession(): SignedIn | null {
  try {
    const s = JSON.parse(tabStorage.get(SESSION) ?? "null") as SignedIn | null;
    return s && s.expiresAt * 1000 > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function storeSession(s: SignedIn): void {
  tabStorage.set(SESSION, JSON.stringify(s));
}

const b64url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = (n: number): string => b64url(crypto.getRandomValues(new Uint8Array(n)));
const redirectUri = (): string => location.origin + location.pathname;

/** Redirects to the provider's sign-in; the page comes back with `?code=&state=`. */
export async function startSignIn(config: NonNullable<AuthConfig["oidc"]>, space?: string): Promise<void> {
  const verifier = random(32);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state = random(16);
  const nonce = random(16);
  tabStorage.set(PENDING, JSON.stringify({ verifier, state, nonce, space, back: location.search }));
  const url = new URL(config.authorizationEndpoint);
  for (const [k, v] of Object.entries({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: config.scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  })) {
    url.searchParams.set(k, v);
  }
  location.assign(url.toString());
}

interface Pending {
  verifier: string;
  state: string;
  nonce: string;
  space?: string;
  back: string;
}

/**
 * The provider's answer (`?code=&state=` or `?error=`), taken from the address bar as soon as
 * this module loads: the page's own parameters (`?meeting=…`) are back in the address before
 * any page code reads them, and the code never stays in the history.
 */
let answer: { params: URLSearchParams; pending: Pending | null } | null = (() => {
  const params = new URLSearchParams(location.search);
  if (!params.get("code") && !params.get("error")) return null;
  let pending: Pending | null = null;
  try {
    pending = JSON.parse(tabStorage.get(PENDING) ?? "null") as Pending | null;
  } catch {
    pending = null;
  }
  tabStorage.remove(PENDING);
  history.replaceState(null, "", location.pathname + (pending?.back ?? ""));
  return { params, pending };
})();

/**
 * Finishes a sign-in when the page was opened by the provider's redirect: checks `state`,
 * has the server trade the code, stores the session and cleans the URL. Null when this
 * load is not a redirect back; throws the reason in words when the sign-in failed.
 */
export async function completeSignIn(): Promise<SignedIn | null> {
  if (!answer) return null;
  const { params, pending } = answer;
  answer = null;
  const code = params.get("code");
  const error = params.get("error");
  if (error) throw new Error(`the identity provider refused the sign-in: ${params.get("error_description") ?? error}`);
  if (!pending || pending.state !== params.get("state")) throw new Error("this sign-in was not started by this tab (state does not match): sign in again");
  const r = await fetch("/api/auth/oidc/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, codeVerifier: pending.verifier, redirectUri: redirectUri(), nonce: pending.nonce, space: pending.space }),
  });
  if (!r.ok) throw new Error(await explain(r));
  const session = { ...((await r.json()) as Omit<SignedIn, "via">), via: "oidc" };
  storeSession(session);
  return session;
}

/** Forgets this tab's session (and nothing else). */
export function forgetSession(): void {
  tabStorage.remove(SESSION);
}

/** Forgets the session; with a provider that supports it, signs out there too. */
export function signOut(config: AuthConfig | null): void {
  tabStorage.remove(SESSION);
  const end = config?.oidc?.endSessionEndpoint;
  if (end) {
    const url = new URL(end);
    url.searchParams.set("client_id", config.oidc!.clientId);
    url.searchParams.set("post_logout_redirect_uri", redirectUri());
    location.assign(url.toString());
  } else {
    location.reload();
  }
}

/**
 * Embedding, the messages between an embedded page and its parent window (each posted with
 * the exact target origin, never "*"):
 *   page → parent  {type: "meetbridge_token_request", reason?}   when it needs a token (at
 *                  start, and again when the server ended the session: `reason` says why)
 *   parent → page  {type: "meetbridge_token", token}              a participant JWT
 *   page → parent  {type: "meetbridge_signed_in", participant}    the token was accepted
 *                  {type: "meetbridge_token_refused", message}    it was not, and why
 * The page listens only to its own parent window (`event.source === window.parent`) and
 * only when `event.origin` is one of the server's `--embed-origin`s, compared exactly.
 */
export const EMBED = {
  request: "meetbridge_token_request",
  token: "meetbridge_token",
  signedIn: "meetbridge_signed_in",
  refused: "meetbridge_token_refused",
} as const;

/** A token handed over, and the parent origin it came from (null: the URL fragment). */
export interface Handed {
  token: string;
  origin: string | null;
}

/** Whether this page runs in a frame of another window. */
export const embedded = (): boolean => window.parent !== window;

/** The `#token=<jwt>` of the URL, removed from the address bar at once. */
export function fragmentToken(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fragment) history.replaceState(null, "", location.pathname + location.search);
  return fragment || null;
}

/**
 * Asks the parent window for a token (`meetbridge_token_request` to each of `origins`) and
 * waits up to `waitMs` for a `meetbridge_token` from the parent window on one of them.
 */
export function requestParentToken(origins: string[], reason?: string, waitMs = 3000): Promise<Handed | null> {
  if (!embedded() || origins.length === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (handed: Handed | null) => {
      clearTimeout(timer);
      removeEventListener("message", onMessage);
      resolve(handed);
    };
    const onMessage = (e: MessageEvent) => {
      if (e.source !== window.parent || !origins.includes(e.origin)) return;
      const data = e.data as { type?: unknown; token?: unknown } | null;
      if (data?.type === EMBED.token && typeof data.token === "string" && data.token.length > 0 && data.token.length < 16_384) {
        done({ token: data.token, origin: e.origin });
      }
    };
    const timer = setTimeout(() => done(null), waitMs);
    addEventListener("message", onMessage);
    const request = reason ? { type: EMBED.request, reason } : { type: EMBED.request };
    for (const origin of origins) window.parent.postMessage(request, origin);
  });
}

/** A token handed to an embedded page: the URL fragment first, else the parent window. */
export async function embeddedToken(origins: string[], waitMs = 3000): Promise<Handed | null> {
  const fragment = fragmentToken();
  if (fragment) return { token: fragment, origin: null };
  return requestParentToken(origins, undefined, waitMs);
}

/** Tells the parent that handed a token what became of it (exact target origin). */
export function answerParent(origin: string | null, answer: { type: typeof EMBED.signedIn; participant: Identity } | { type: typeof EMBED.refused; message: string }): void {
  if (origin && embedded()) window.parent.postMessage(answer, origin);
}

/** What the server makes of a token (`GET /api/auth/session`): who it is, or why it is refused. */
export async function describeToken(token: string, via: string): Promise<SignedIn> {
  const r = await fetch("/api/auth/session", { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(await explain(r));
  return { ...((await r.json()) as Omit<SignedIn, "token" | "via">), token, via };
}
