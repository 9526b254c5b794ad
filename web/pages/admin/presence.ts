// Who is present where in the chosen space, from this server's rooms: read again every few
// seconds while the console is on screen, and on Refresh.
import type { PresenceView } from "../../../crates/protocol/bindings/protocol";
import { presenceWords } from "../words";
import { $, api, el, shown } from "./api";

/** How often the list is read again while the page is visible. */
const REFRESH_MS = 3000;

export interface PresencePanel {
  /** Shows `space` (null: nothing) and reads it now; `floor` is its floor object's id (everyone in the space is on it). */
  show(space: string | null, floor?: string): Promise<void>;
}

export function mountPresence(): PresencePanel {
  let space: string | null = null;
  let floor: string | undefined;
  const read = () =>
    shown($("presence-error"), async () => {
      if (!space) {
        $("presence-list").replaceChildren();
        return;
      }
      const asked = space;
      const view = await api<PresenceView>("GET", `/api/admin/spaces/${encodeURIComponent(asked)}/presence`);
      if (asked !== space) return;
      // The floor first: who is in the space at all, then who is at which object.
      const objects = [...view.objects].sort((a, b) => Number(b.object === floor) - Number(a.object === floor));
      const items = objects.map((o) => {
        const li = el("li");
        li.dataset.object = o.object;
        const people = o.participants.map((p) => `${p.name} (${presenceWords(p.status)}${p.connections > 1 ? `, ${p.connections} tabs` : ""})`);
        if (o.object === floor) li.append(el("strong", "In the space"), `: ${o.participants.map((p) => p.name).join(", ")}`);
        else li.append(el("strong", o.name), `: ${people.join(", ")}`);
        return li;
      });
      $("presence-list").replaceChildren(...(items.length ? items : [el("li", "Nobody is in this space right now.")]));
      $("presence-time").textContent = `as of ${new Date().toLocaleTimeString()}`;
    });
  $("presence-refresh").onclick = () => void read();
  setInterval(() => {
    if (document.visibilityState === "visible" && !$("console").hidden) void read();
  }, REFRESH_MS);
  return {
    async show(id, floorId) {
      space = id;
      floor = floorId;
      await read();
    },
  };
}
