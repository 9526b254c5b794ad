// Signing a page in without the dev login: OpenID Connect (authorization code + PKCE; the
// server trades the code, validates the ID token against the issuer's JWKS and answers its
// own session token), or, for a page embedded by another application, a JWT handed over in
// the URL fragment (`#token=…`) or by postMessage from an allow-listed parent origin.
// The session token lives in sessionStorage (this tab only) and is never put in a URL.
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
    const s = JSON.parse(sessionStorage.getItem(SESSION) ?? "null") as SignedIn | null;
    return s && s.expiresAt * 1000 > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function storeSession(s: SignedIn): void {
  sessionStorage.setItem(SESSION, JSON.stringify(s));
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
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, space, back: location.search }));
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

/**
 * Finishes a sign-in when the page was opened by the provider's redirect: checks `state`,
 * has the server trade the code, stores the session and cleans the URL. Null when this
 * load is not a redirect back; throws the reason in words when the sign-in failed.
 */
export async function completeSignIn(): Promise<SignedIn | null> {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const error = params.get("error");
  if (!code && !error) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null") as null | { verifier: string; state: string; nonce: string; space?: string; back: string };
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", location.pathname + (pending?.back ?? ""));
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

/** Forgets the session; with a provider that supports it, signs out there too. */
export function signOut(config: AuthConfig | null): void {
  sessionStorage.removeItem(SESSION);
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
 * A token handed to an embedded page: `#token=<jwt>` (removed from the address bar at
 * once), else a `{type: "meetbridge_token", token}` message from the parent window whose
 * origin is in `origins` (waits up to `waitMs` after announcing `meetbridge_token_request`).
 */
export async function embeddedToken(origins: string[], waitMs = 3000): Promise<string | null> {
  const fragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fragment) {
    history.replaceState(null, "", location.pathname + location.search);
    return fragment;
  }
  if (window.parent === window || origins.length === 0) return null;
  return new Promise((resolve) => {
    const done = (token: string | null) => {
      clearTimeout(timer);
      removeEventListener("message", onMessage);
      resolve(token);
    };
    const onMessage = (e: MessageEvent) => {
      if (e.source !== window.parent || !origins.includes(e.origin)) return;
      const data = e.data as { type?: unknown; token?: unknown } | null;
      if (data?.type === "meetbridge_token" && typeof data.token === "string" && data.token.length < 16_384) done(data.token);
    };
    const timer = setTimeout(() => done(null), waitMs);
    addEventListener("message", onMessage);
    for (const origin of origins) window.parent.postMessage({ type: "meetbridge_token_request" }, origin);
  });
}

/** What the server makes of a token (`GET /api/auth/session`): who it is, or why it is refused. */
export async function describeToken(token: string, via: string): Promise<SignedIn> {
  const r = await fetch("/api/auth/session", { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(await explain(r));
  return { ...((await r.json()) as Omit<SignedIn, "token" | "via">), token, via };
}
