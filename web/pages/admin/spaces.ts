// The console's spaces: the list, creating one (server admins), and for the chosen space
// its name, who may create meetings in it, the origins its plugins may come from, and
// deleting it (server admins; asked twice, as it removes every object with its data).
import type { CreateDynamic, SpaceDef, SpaceSettings } from "../../../crates/protocol/bindings/protocol";
import { $, api, el, shown } from "./api";

export interface SpacesView {
  /** Reads the list again; selects `pick`, else the current space, else the first. */
  reload(pick?: string): Promise<void>;
}

/**
 * Mounts the space list and the space's settings. `select` is called with the chosen space
 * (null when there is none left); `serverAdmin` says whether creating and deleting spaces
 * is offered (a space owner administers only their own).
 */
export function mountSpaces(serverAdmin: boolean, select: (space: SpaceDef | null) => Promise<void>): SpacesView {
  let spaces: SpaceDef[] = [];
  let current: SpaceDef | null = null;
  $("new-space").hidden = !serverAdmin;
  $("space-delete").hidden = !serverAdmin;

  const choose = async (space: SpaceDef | null) => {
    current = space;
    for (const b of $("space-list").querySelectorAll<HTMLButtonElement>("button")) b.setAttribute("aria-current", String(b.dataset.space === space?.id));
    $("space-title").textContent = space ? space.name : "no space";
    $("space-settings").hidden = !space;
    $("space-delete-confirm").hidden = true;
    if (space) {
      $<HTMLInputElement>("space-rename").value = space.name;
      $<HTMLSelectElement>("space-create-dynamic").value = space.settings.createDynamic;
      $<HTMLTextAreaElement>("space-origins").value = space.settings.pluginOrigins.join("\n");
    }
    await select(space);
  };

  const reload = async (pick?: string) => {
    spaces = await api<SpaceDef[]>("GET", "/api/admin/spaces");
    $("space-list").replaceChildren(
      ...spaces.map((space) => {
        const b = el("button", space.name === space.id ? space.id : `${space.name} (${space.id})`, { type: "button" });
        b.dataset.space = space.id;
        b.onclick = () => void shown($("space-error"), () => choose(space));
        const li = el("li");
        li.append(b);
        return li;
      }),
    );
    const want = pick ?? current?.id;
    await choose(spaces.find((s) => s.id === want) ?? spaces[0] ?? null);
  };

  $<HTMLFormElement>("new-space").onsubmit = (e) => {
    e.preventDefault();
    const form = $<HTMLFormElement>("new-space");
    void shown(
      $("space-error"),
      async () => {
        const id = $<HTMLInputElement>("space-id").value.trim();
        const created = await api<SpaceDef>("POST", "/api/admin/spaces", { ...(id ? { id } : {}), name: $<HTMLInputElement>("space-name").value.trim() });
        form.reset();
        $("space-done").textContent = `Created space ${created.name}.`;
        await reload(created.id);
      },
      form,
    );
  };

  $<HTMLFormElement>("space-settings").onsubmit = (e) => {
    e.preventDefault();
    const form = $<HTMLFormElement>("space-settings");
    void shown(
      $("space-settings-error"),
      async () => {
        if (!current) return;
        const settings: SpaceSettings = {
          createDynamic: $<HTMLSelectElement>("space-create-dynamic").value as CreateDynamic,
          pluginOrigins: $<HTMLTextAreaElement>("space-origins")
            .value.split(/[\s,]+/)
            .map((s) => s.trim())
            .filter(Boolean),
        };
        const saved = await api<SpaceDef>("PATCH", `/api/admin/spaces/${encodeURIComponent(current.id)}`, {
          name: $<HTMLInputElement>("space-rename").value.trim(),
          settings,
        });
        $("space-done").textContent = `Saved ${saved.name}.`;
        await reload(saved.id);
      },
      form,
    );
  };

  $("space-delete").onclick = () => {
    if (!current) return;
    $("space-delete-question").textContent = `Delete ${current.name} and every object in it, with their saved data and message logs? This cannot be undone.`;
    $("space-delete-yes").textContent = `Delete ${current.name}`;
    $("space-delete-confirm").hidden = false;
    $("space-delete-yes").focus();
  };
  $("space-delete-no").onclick = () => {
    $("space-delete-confirm").hidden = true;
    $("space-delete").focus();
  };
  $("space-delete-yes").onclick = () =>
    void shown($("space-settings-error"), async () => {
      if (!current) return;
      const gone = current;
      const r = await api<{ space: string; objects: number }>("DELETE", `/api/admin/spaces/${encodeURIComponent(gone.id)}`);
      $("space-done").textContent = `Deleted ${gone.name} and its ${r.objects} object${r.objects === 1 ? "" : "s"}.`;
      current = null;
      await reload();
    });

  return { reload };
}
