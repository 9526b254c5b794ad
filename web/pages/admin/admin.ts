// The admin console: spaces, their objects, and token revocation, for a server admin (the
// admin key, or a token whose role is admin) or a space owner (a token with role owner,
// limited to its space by the server). Every refusal is shown as the server's sentence.
import type { ObjectDef } from "../../host/index";
import { authConfig, completeSignIn, describeToken, explain, signOut, startSignIn, storedSession, storeSession, type AuthConfig, type SignedIn } from "../signin";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface SpaceDef {
  id: string;
  name: string;
}

let config: AuthConfig | null = null;
let session: SignedIn | null = null;
let current: string | null = null;

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${session!.token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(await explain(r));
  return (await r.json()) as T;
}

/** Runs `f`, showing its error's sentence in p#`where` (and clearing it on success). */
async function shown(where: string, f: () => Promise<void>): Promise<void> {
  $(where).textContent = "";
  try {
    await f();
  } catch (e) {
    $(where).textContent = e instanceof Error ? e.message : String(e);
  }
}

function showSignIn(error?: string): void {
  $("console").hidden = true;
  $("signin").hidden = false;
  $("oidc-signin").hidden = !config?.oidc;
  $("signin-error").textContent = error ?? config?.oidcError ?? "";
}

async function enter(s: SignedIn): Promise<void> {
  session = s;
  $("who").textContent = s.via === "key" ? "admin key" : `${s.participant.name} (${s.role}${s.space ? ` of ${s.space}` : ""})`;
  $("signout").hidden = false;
  $("signin").hidden = true;
  $("console").hidden = false;
  await shown("space-error", loadSpaces);
  await shown("revoke-result", loadRevocations);
}

async function loadSpaces(): Promise<void> {
  const spaces = await api<SpaceDef[]>("GET", "/api/admin/spaces");
  const list = $("space-list");
  list.replaceChildren(
    ...spaces.map((space) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.textContent = space.name === space.id ? space.id : `${space.name} (${space.id})`;
      b.dataset.space = space.id;
      b.setAttribute("aria-current", String(space.id === current));
      b.onclick = () => void select(space.id);
      li.append(b);
      return li;
    }),
  );
  if (!current && spaces[0]) await select(spaces[0].id);
}

async function select(space: string): Promise<void> {
  current = space;
  for (const b of $("space-list").querySelectorAll("button")) b.setAttribute("aria-current", String(b.dataset.space === space));
  $("space-title").textContent = space;
  await shown("object-error", loadObjects);
}

async function loadObjects(): Promise<void> {
  if (!current) return;
  const objects = await api<ObjectDef[]>("GET", `/api/admin/spaces/${encodeURIComponent(current)}/objects`);
  $("object-list").replaceChildren(
    ...objects.map((o) => {
      const tr = document.createElement("tr");
      tr.dataset.object = o.id;
      for (const text of [o.id, o.name, o.objectType, o.pluginUrl, o.settings.shareEmail ? "yes" : "no", o.creator ?? "-"]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

interface Revocation {
  kind: string;
  value: string;
  at: number;
}

async function loadRevocations(): Promise<void> {
  const list = await api<Revocation[]>("GET", "/api/admin/revocations");
  $("revocations").replaceChildren(
    ...list.map((r) => {
      const li = document.createElement("li");
      li.textContent = `${r.kind === "sub" ? "every token of user" : "token"} ${r.value}, since ${new Date(r.at * 1000).toLocaleString()}`;
      return li;
    }),
  );
}

$<HTMLFormElement>("new-space").onsubmit = (e) => {
  e.preventDefault();
  void shown("space-error", async () => {
    const id = $<HTMLInputElement>("space-id").value.trim();
    const created = await api<SpaceDef>("POST", "/api/admin/spaces", { ...(id ? { id } : {}), name: $<HTMLInputElement>("space-name").value.trim() });
    $<HTMLFormElement>("new-space").reset();
    await loadSpaces();
    await select(created.id);
  });
};

$<HTMLFormElement>("new-object").onsubmit = (e) => {
  e.preventDefault();
  void shown("object-error", async () => {
    if (!current) throw new Error("choose or create a space first");
    await api("POST", `/api/admin/spaces/${encodeURIComponent(current)}/objects`, {
      name: $<HTMLInputElement>("object-name").value.trim(),
      pluginUrl: $<HTMLInputElement>("object-url").value.trim(),
      type: $<HTMLSelectElement>("object-type").value,
      settings: { shareEmail: $<HTMLInputElement>("object-email").checked },
    });
    $<HTMLFormElement>("new-object").reset();
    await loadObjects();
  });
};

function revoke(form: string, input: string, body: (v: string) => object): void {
  $<HTMLFormElement>(form).onsubmit = (e) => {
    e.preventDefault();
    void shown("revoke-result", async () => {
      const value = $<HTMLInputElement>(input).value.trim();
      const r = await api<{ closed: number }>("POST", "/api/admin/revocations", body(value));
      $<HTMLFormElement>(form).reset();
      $("revoke-result").textContent = `revoked ${value}; ${r.closed} open connection(s) closed`;
      await loadRevocations();
    });
  };
}
revoke("revoke-user-form", "revoke-user", (sub) => ({ sub }));
revoke("revoke-jti-form", "revoke-jti", (jti) => ({ jti }));

$<HTMLFormElement>("key-form").onsubmit = (e) => {
  e.preventDefault();
  const key = $<HTMLInputElement>("admin-key").value;
  const s: SignedIn = { token: key, via: "key", role: "admin", space: null, expiresAt: Date.now() / 1000 + 12 * 3600, participant: { id: "admin", name: "admin", avatarUrl: "", workspaceId: "", isVisitor: false } };
  void (async () => {
    session = s;
    try {
      await api("GET", "/api/admin/spaces");
    } catch (err) {
      session = null;
      showSignIn(err instanceof Error ? err.message : String(err));
      return;
    }
    storeSession(s);
    await enter(s);
  })();
};

$("oidc-signin").onclick = () => void startSignIn(config!.oidc!);
$("signout").onclick = () => signOut(session?.via === "oidc" ? config : null);

async function main(): Promise<void> {
  config = await authConfig();
  try {
    const signed = await completeSignIn();
    if (signed) return await enter(signed);
  } catch (e) {
    return showSignIn(e instanceof Error ? e.message : String(e));
  }
  const stored = storedSession();
  if (stored?.via === "key") return await enter(stored);
  if (stored) {
    try {
      return await enter(await describeToken(stored.token, stored.via));
    } catch (e) {
      return showSignIn(e instanceof Error ? e.message : String(e));
    }
  }
  showSignIn();
}

void main();
