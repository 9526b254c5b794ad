// Thin TypeScript glue around the host runtime (crates/space-host, Rust → wasm; its glue
// in space-host.ts) and the server's HTTP endpoints that the pages use. The protocol logic
// is in Rust.
import init from "../pkg/space-host/meetbridge_space_host.js";
import type { Identity, ServerInfo, SpaceView } from "../../crates/protocol/bindings/protocol";
import type { ObjectDef } from "../../crates/space-host/bindings/space-host";
import { SpaceHost, type CloseObjectOptions, type HostEvent, type OpenObjectOptions, type SpaceHostOptions } from "./space-host";

export { SpaceHost };
export type { CloseObjectOptions, HostEvent, OpenObjectOptions, SpaceHostOptions };

/** The pluginUrl that marks a space's floor object: no iframe, the page itself is its
 * plugin and broadcasts avatar positions on it (see web/README.md). */
export const FLOOR_URL = "meetbridge:floor";

/** An object as the server lists it (`GET /api/spaces/{space}/objects`); from the store's Rust type. */
export type { ObjectDef } from "../../crates/space-host/bindings/space-host";
/** What `GET /api/info` says; from the protocol's Rust type. */
export type { ServerInfo } from "../../crates/protocol/bindings/protocol";

export interface Login {
  token: string;
  participant: Identity;
  space: string | null;
}

let ready: Promise<unknown> | undefined;

/** Loads the wasm once; resolves to the SpaceHost class. */
export async function loadSpaceHost(): Promise<typeof SpaceHost> {
  ready ??= init({ module_or_path: new URL("/host/meetbridge_space_host_bg.wasm", location.href) });
  await ready;
  return SpaceHost;
}

async function json<T>(response: Response): Promise<T> {
  if (!response.ok) {
    let why = response.statusText;
    try {
      const body = (await response.json()) as { message?: string };
      why = body.message ?? why;
    } catch {
      // not JSON
    }
    throw new Error(`${response.url}: ${response.status} ${why}`);
  }
  return (await response.json()) as T;
}

export const serverInfo = (): Promise<ServerInfo> => fetch("/api/info").then((r) => json<ServerInfo>(r));

/** DEV ONLY: the demo server's login that issues a token for a typed name. */
export const devLogin = (name: string, space?: string): Promise<Login> =>
  fetch("/api/dev/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(space ? { name, space } : { name }),
  }).then((r) => json<Login>(r));

export const listObjects = (space: string, token: string): Promise<ObjectDef[]> =>
  fetch(`/api/spaces/${encodeURIComponent(space)}/objects`, { headers: { authorization: `Bearer ${token}` } }).then((r) =>
    json<ObjectDef[]>(r),
  );

/**
 * Creates a dynamic object in `space` (`POST /api/spaces/{space}/objects`), its creator being
 * the token's participant. Returns the response as is: 409 means it exists already (another
 * user created it first), which callers treat as success.
 */
export const createObject = (space: string, token: string, def: { id: string; name: string; pluginUrl: string }): Promise<Response> =>
  fetch(`/api/spaces/${encodeURIComponent(space)}/objects`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(def),
  });

/** The space's floor object, created (as a dynamic object) when the space has none. */
export async function ensureFloor(space: string, token: string, objects: ObjectDef[]): Promise<ObjectDef | undefined> {
  const found = objects.find((o) => o.pluginUrl === FLOOR_URL);
  if (found) return found;
  const id = `${space}-floor`;
  const r = await createObject(space, token, { id, name: "Floor", pluginUrl: FLOOR_URL });
  if (r.ok || r.status === 409) {
    return (await listObjects(space, token)).find((o) => o.id === id);
  }
  console.warn(`meetbridge: no floor object (${r.status}); other users' positions are not shown`);
  return undefined;
}

/** The WebSocket URL of this server. */
export function wsUrl(path = "/ws"): string {
  const u = new URL(path, location.href);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

/** `GET /api/spaces/{space}`: the space, its objects with their positions, and whether this user may create meetings there. */
export const spaceView = (space: string, token: string): Promise<SpaceView> =>
  fetch(`/api/spaces/${encodeURIComponent(space)}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => json<SpaceView>(r));
