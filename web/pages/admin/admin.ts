// The admin console: spaces (create, rename, settings, delete), their objects (create,
// edit, delete; positions by dragging on the floor editor, the keyboard or numbers), who is
// present where, and token revocation; for a server admin (the admin key, or a token
// whose role is admin) or a space owner (a token with role owner, limited to its space by
// the server). Every refusal is shown as a sentence naming the field by its label
// (api.ts). Each concern is its own module: spaces.ts, objects.ts, floor.ts, presence.ts.
import type { ObjectDef, Position, SpaceDef } from "../../../crates/protocol/bindings/protocol";
import { FLOOR_URL } from "../../host/index";
import { authConfig, completeSignIn, describeToken, signOut, startSignIn, storedSession, storeSession, type AuthConfig, type SignedIn } from "../signin";
import { $, api, el, problemText, shown, useCredential } from "./api";
import { mountFloor, type FloorEditor } from "./floor";
import { mountObjects, type ObjectsView } from "./objects";
import { mountPresence, type PresencePanel } from "./presence";
import { mountSpaces, type SpacesView } from "./spaces";

let config: AuthConfig | null = null;
let session: SignedIn | null = null;
let current: SpaceDef | null = null;
let spaces: SpacesView;
let objects: ObjectsView;
let floor: FloorEditor;
let presence: PresencePanel;

function showSignIn(error?: string): void {
  $("console").hidden = true;
  $("signin").hidden = false;
  $("oidc-signin").hidden = !config?.oidc;
  $("signin-error").textContent = error ?? config?.oidcError ?? "";
}

function announce(text: string): void {
  $("announce").textContent = text;
}

/** Reads the chosen space's objects and shows them in the table, the floor and the presence list. */
async function loadObjects(): Promise<void> {
  if (!current) {
    objects.show("", []);
    floor.show([]);
    await presence.show(null);
    return;
  }
  const all = await api<ObjectDef[]>("GET", `/api/admin/spaces/${encodeURIComponent(current.id)}/objects`);
  const shownObjects = all.filter((o) => o.pluginUrl !== FLOOR_URL);
  objects.show(current.id, shownObjects);
  floor.show(shownObjects);
  await presence.show(current.id, all.find((o) => o.pluginUrl === FLOOR_URL)?.id);
}

/** Stores an object's new position (from the floor editor). */
async function move(id: string, at: Position): Promise<void> {
  const out = $("floor-error");
  out.textContent = "";
  try {
    await api<ObjectDef>("PATCH", `/api/admin/spaces/${encodeURIComponent(current!.id)}/objects/${encodeURIComponent(id)}`, { position: at });
    await loadObjects();
  } catch (e) {
    out.textContent = problemText(e);
    throw e;
  }
}

async function enter(s: SignedIn): Promise<void> {
  session = s;
  useCredential(s.token);
  $("who").textContent = s.via === "key" ? "admin key" : `${s.participant.name} (${s.role}${s.space ? ` of ${s.space}` : ""})`;
  $("signout").hidden = false;
  $("signin").hidden = true;
  $("console").hidden = false;
  objects ??= mountObjects(() => shown($("object-error"), loadObjects));
  floor ??= mountFloor($("floor-editor"), move, announce);
  presence ??= mountPresence();
  spaces ??= mountSpaces(s.role === "admin", async (space) => {
    current = space;
    $("space-work").hidden = !space;
    await shown($("object-error"), loadObjects);
  });
  await shown($("space-error"), () => spaces.reload());
  await shown($("revoke-result"), loadRevocations);
}

interface Revocation {
  kind: string;
  value: string;
  at: number;
}

async function loadRevocations(): Promise<void> {
  const list = await api<Revocation[]>("GET", "/api/admin/revocations");
  $("revocations").replaceChildren(
    ...list.map((r) => el("li", `${r.kind === "sub" ? "every token of user" : "token"} ${r.value}, since ${new Date(r.at * 1000).toLocaleString()}`)),
  );
}

function revoke(form: string, input: string, body: (v: string) => object): void {
  $<HTMLFormElement>(form).onsubmit = (e) => {
    e.preventDefault();
    void shown($("revoke-result"), async () => {
      const value = $<HTMLInputElement>(input).value.trim();
      const r = await api<{ closed: number }>("POST", "/api/admin/revocations", body(value));
      $<HTMLFormElement>(form).reset();
      $("revoke-result").textContent = `Revoked ${value}: ${r.closed} open connection${r.closed === 1 ? "" : "s"} closed.`;
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
    useCredential(key);
    try {
      await api("GET", "/api/admin/spaces");
    } catch (err) {
      session = null;
      showSignIn(problemText(err));
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
