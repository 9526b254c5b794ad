// The console's objects of one space: the table (what each object is, where it stands,
// what its plugin may do) with Edit and Delete, and the one form that creates an object or
// edits the chosen one: name, plugin URL, static or dynamic (and its host), e-mail sharing,
// history retention, the sandbox and permissions it narrows to, and its position.
import { DEFAULT_ALLOW, DEFAULT_SANDBOX, FLOOR_HEIGHT, FLOOR_WIDTH, type ObjectDef, type Position, type Retention } from "../../../crates/protocol/bindings/protocol";
import { $, api, el, shown } from "./api";

/** What each sandbox token lets a plugin do, in words (the token itself beside it). */
const SANDBOX_WORDS: Record<string, string> = {
  "allow-scripts": "run scripts",
  "allow-same-origin": "keep its own storage (local storage, cookies)",
  "allow-forms": "submit forms",
  "allow-modals": "show alert, confirm and prompt dialogs",
  "allow-popups": "open links and pop-ups",
  "allow-popups-to-escape-sandbox": "open pop-ups without this sandbox",
  "allow-downloads": "download files",
};
const ALLOW_WORDS: Record<string, string> = {
  "clipboard-read": "paste from the clipboard",
  "clipboard-write": "copy to the clipboard",
  fullscreen: "go full screen",
  autoplay: "play sound and video by itself",
};
export const SANDBOX_TOKENS = DEFAULT_SANDBOX.split(/\s+/).filter(Boolean);
export const ALLOW_FEATURES = DEFAULT_ALLOW.split(";").map((f) => f.trim()).filter(Boolean);
const DAY = 86_400;
const MB = 1_000_000;

export interface ObjectsView {
  /** Shows the objects of `space` (the floor object left out by the caller). */
  show(space: string, objects: readonly ObjectDef[]): void;
}

/** Builds the sandbox and permission checkboxes once, from the defaults the server also uses. */
function permissionBoxes(): void {
  const boxes = (container: HTMLElement, name: string, items: string[], words: Record<string, string>) =>
    container.replaceChildren(
      ...container.querySelectorAll("legend, .hint"),
      ...items.map((item) => {
        const box = el("input", undefined, { type: "checkbox", name, value: item, checked: true, defaultChecked: true });
        const label = el("label");
        label.append(box, ` ${words[item] ?? item} `, el("code", item));
        return label;
      }),
    );
  boxes($("object-sandbox"), "sandbox", SANDBOX_TOKENS, SANDBOX_WORDS);
  boxes($("object-allow"), "allow", ALLOW_FEATURES, ALLOW_WORDS);
}

const checked = (name: string): string[] =>
  [...document.querySelectorAll<HTMLInputElement>(`#object-form input[name="${name}"]`)].filter((b) => b.checked).map((b) => b.value);

/** The checked items, or null when all are (the default: the server then stores nothing). */
function narrowing(name: string, all: string[]): string[] | null {
  const list = checked(name);
  return list.length === all.length ? null : list;
}

/**
 * The sandbox to store, null for the default. A plugin served by this server (a path)
 * never keeps its own storage, as it would share the pages' origin (the server refuses
 * that with scripts): its default has no `allow-same-origin`, and nor does a narrowing.
 */
function sandboxOf(pluginUrl: string): string[] | null {
  const relevant = pluginUrl.startsWith("/") ? SANDBOX_TOKENS.filter((t) => t !== "allow-same-origin") : SANDBOX_TOKENS;
  const list = checked("sandbox").filter((t) => relevant.includes(t));
  return list.length === relevant.length ? null : list;
}

/** A number field: undefined when empty. */
function numberOf(id: string, unit = 1): number | undefined {
  const raw = $<HTMLInputElement>(id).value.trim();
  return raw === "" ? undefined : Math.round(Number(raw) * unit);
}

function retentionOf(): Retention | null {
  const r: Retention = {};
  const messages = numberOf("object-keep-messages");
  const age = numberOf("object-keep-days", DAY);
  const bytes = numberOf("object-keep-mb", MB);
  if (messages !== undefined) r.maxMessages = messages;
  if (age !== undefined) r.maxAgeSecs = age;
  if (bytes !== undefined) r.maxBytes = bytes;
  return Object.keys(r).length ? r : null;
}

function positionOf(): Position | null {
  const x = numberOf("object-x");
  const y = numberOf("object-y");
  return x === undefined && y === undefined ? null : { x: x ?? 0, y: y ?? 0 };
}

/** What an object's plugin may do, in a few words for the table. */
function permissionSummary(def: ObjectDef): string {
  const s = def.settings.sandbox;
  const a = def.settings.allow;
  if (!s && !a) return "default";
  const off = [
    // A plugin of this server never has allow-same-origin, default or not: not a narrowing.
    ...(s ? SANDBOX_TOKENS.filter((t) => !s.includes(t) && !(t === "allow-same-origin" && def.pluginUrl.startsWith("/"))) : []),
    ...(a ? ALLOW_FEATURES.filter((f) => !a.includes(f)) : []),
  ];
  return off.length ? `no ${off.join(", ")}` : "default";
}

/** Mounts the table and the form; `changed` is called after every stored change. */
export function mountObjects(changed: () => Promise<unknown>): ObjectsView {
  permissionBoxes();
  $("object-x").setAttribute("max", String(FLOOR_WIDTH));
  $("object-y").setAttribute("max", String(FLOOR_HEIGHT));
  const form = $<HTMLFormElement>("object-form");
  const out = $("object-error");
  let space = "";
  let editing: ObjectDef | null = null;

  const reset = () => {
    editing = null;
    form.reset();
    $<HTMLInputElement>("object-id").disabled = false;
    $("object-form-title").textContent = "New object";
    $("object-save").textContent = "Create object";
    $("object-cancel").hidden = true;
  };

  const edit = (def: ObjectDef) => {
    reset();
    editing = def;
    $("object-form-title").textContent = `Edit ${def.name}`;
    $("object-save").textContent = `Save ${def.name}`;
    $("object-cancel").hidden = false;
    const id = $<HTMLInputElement>("object-id");
    id.value = def.id;
    id.disabled = true;
    $<HTMLInputElement>("object-name").value = def.name;
    $<HTMLInputElement>("object-url").value = def.pluginUrl;
    $<HTMLSelectElement>("object-type").value = def.objectType;
    $<HTMLInputElement>("object-creator").value = def.creator ?? "";
    $<HTMLInputElement>("object-email").checked = def.settings.shareEmail;
    const r = def.settings.retention;
    $<HTMLInputElement>("object-keep-messages").value = r?.maxMessages === undefined ? "" : String(r.maxMessages);
    $<HTMLInputElement>("object-keep-days").value = r?.maxAgeSecs === undefined ? "" : String(r.maxAgeSecs / DAY);
    $<HTMLInputElement>("object-keep-mb").value = r?.maxBytes === undefined ? "" : String(r.maxBytes / MB);
    for (const b of form.querySelectorAll<HTMLInputElement>('input[name="sandbox"]')) b.checked = !def.settings.sandbox || def.settings.sandbox.includes(b.value);
    for (const b of form.querySelectorAll<HTMLInputElement>('input[name="allow"]')) b.checked = !def.settings.allow || def.settings.allow.includes(b.value);
    $<HTMLInputElement>("object-x").value = def.position ? String(def.position.x) : "";
    $<HTMLInputElement>("object-y").value = def.position ? String(def.position.y) : "";
    $("object-name").focus();
  };

  $("object-cancel").onclick = reset;
  form.onsubmit = (e) => {
    e.preventDefault();
    void shown(
      out,
      async () => {
        if (!space) throw new Error("Choose or create a space first.");
        const creator = $<HTMLInputElement>("object-creator").value.trim();
        const common = {
          name: $<HTMLInputElement>("object-name").value.trim(),
          pluginUrl: $<HTMLInputElement>("object-url").value.trim(),
          type: $<HTMLSelectElement>("object-type").value,
        };
        const settings = {
          shareEmail: $<HTMLInputElement>("object-email").checked,
          retention: retentionOf(),
          sandbox: sandboxOf(common.pluginUrl),
          allow: narrowing("allow", ALLOW_FEATURES),
        };
        const position = positionOf();
        const base = `/api/admin/spaces/${encodeURIComponent(space)}/objects`;
        let saved: ObjectDef;
        if (editing) {
          // Present = set, null = cleared: the form says everything about the object.
          saved = await api<ObjectDef>("PATCH", `${base}/${encodeURIComponent(editing.id)}`, { ...common, creator: creator || null, position, settings });
        } else {
          const id = $<HTMLInputElement>("object-id").value.trim();
          const create = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== null));
          saved = await api<ObjectDef>("POST", base, {
            ...common,
            ...(id ? { id } : {}),
            ...(creator ? { creator } : {}),
            ...(position ? { position } : {}),
            settings: create,
          });
        }
        $("object-done").textContent = editing ? `Saved ${saved.name}.` : `Created ${saved.name}.`;
        reset();
        await changed();
      },
      form,
    );
  };

  const remove = (def: ObjectDef, row: HTMLTableRowElement) => {
    const cell = el("td", undefined, { colSpan: row.cells.length });
    const ask = el("span", `Delete ${def.name}, its saved data and its message log? This cannot be undone. `);
    const yes = el("button", `Delete ${def.name}`, { type: "button", className: "danger confirm" });
    const no = el("button", "Keep it", { type: "button" });
    no.onclick = () => void changed();
    yes.onclick = () =>
      void shown(out, async () => {
        const r = await api<{ object: string; logEntries: number; savedData: boolean }>(
          "DELETE",
          `/api/admin/spaces/${encodeURIComponent(space)}/objects/${encodeURIComponent(def.id)}`,
        );
        const what = [`${r.logEntries} logged message${r.logEntries === 1 ? "" : "s"}`, r.savedData ? "its saved data" : ""].filter(Boolean).join(" and ");
        $("object-done").textContent = `Deleted ${def.name}: ${what} removed.`;
        if (editing?.id === def.id) reset();
        await changed();
      });
    cell.append(ask, yes, " ", no);
    row.replaceChildren(cell);
    yes.focus();
  };

  reset();
  return {
    show(id, objects) {
      // Another space: an edit of this one's object ends; a new object being typed stays.
      if (id !== space && editing) reset();
      space = id;
      $("object-list").replaceChildren(
        ...objects.map((o) => {
          const tr = el("tr");
          tr.dataset.object = o.id;
          const where = o.position ? `${o.position.x}, ${o.position.y}` : "not placed";
          const kind = o.objectType === "dynamic" ? `dynamic${o.creator ? `, host ${o.creator}` : ""}` : "static";
          for (const text of [o.name, kind, o.pluginUrl, where, o.settings.shareEmail ? "yes" : "no", permissionSummary(o)]) tr.append(el("td", text));
          const actions = el("td");
          const editButton = el("button", "Edit", { type: "button", className: "edit" });
          editButton.setAttribute("aria-label", `Edit ${o.name}`);
          editButton.onclick = () => edit(o);
          const deleteButton = el("button", "Delete", { type: "button", className: "danger delete" });
          deleteButton.setAttribute("aria-label", `Delete ${o.name}`);
          deleteButton.onclick = () => remove(o, tr);
          actions.append(editButton, " ", deleteButton);
          tr.append(actions);
          return tr;
        }),
      );
      if (editing && !objects.some((o) => o.id === editing!.id)) reset();
    },
  };
}
