// The admin API as the console calls it, and its refusals in words: the server's sentence,
// with the refused field named by the label the console shows for it (not its JSON name)
// and that field marked, so the person knows what to change.
import type { ApiErrorBody } from "../../../crates/protocol/bindings/protocol";

/** A refused request: the server's sentence, and the JSON field it refused when it named one. */
export class ApiProblem extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

let bearer = "";

/** The admin key or token every later call sends. */
export function useCredential(token: string): void {
  bearer = token;
}

/** Calls the API; resolves to the JSON answer, rejects with an ApiProblem in words. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let r: Response;
  try {
    r = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiProblem("The server did not answer. Check that it is running, then try again.", 0);
  }
  if (!r.ok) {
    let said: Partial<ApiErrorBody> = {};
    try {
      said = (await r.json()) as Partial<ApiErrorBody>;
    } catch {
      // not JSON: said in words below
    }
    const message = typeof said.message === "string" && said.message ? said.message : `The server refused this (${r.status} ${r.statusText}).`;
    throw new ApiProblem(message, r.status, said.error, typeof said.field === "string" ? said.field : undefined);
  }
  return (await r.json()) as T;
}

/** The JSON field a form element stands for (`data-field`), longest match first: `settings.sandbox[1]` → `settings.sandbox`. */
function fieldElement(form: HTMLElement, field: string): HTMLElement | null {
  const all = [...form.querySelectorAll<HTMLElement>("[data-field]")];
  let best: HTMLElement | null = null;
  for (const el of all) {
    const f = el.dataset.field!;
    if ((field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`)) && f.length > (best?.dataset.field?.length ?? -1)) best = el;
  }
  return best;
}

/** What a person calls the element: its data-label, else its label's text. */
function labelOf(el: HTMLElement): string {
  if (el.dataset.label) return el.dataset.label;
  const label = el.id ? el.ownerDocument.querySelector(`label[for="${CSS.escape(el.id)}"]`) : null;
  return (label ?? el.closest("label"))?.textContent?.trim() || "This field";
}

/**
 * The sentence for a refusal: when it names a field the form shows, "Plugin URL: uses the
 * javascript: scheme…" (the field's label, then the reason without the JSON name), and the
 * field is marked invalid and focused. Other errors: the server's sentence as it is.
 */
export function problemText(e: unknown, form?: HTMLElement): string {
  if (!(e instanceof ApiProblem)) return e instanceof Error ? e.message : String(e);
  const el = form && e.field ? fieldElement(form, e.field) : null;
  if (!el) return e.message.replace(/`/g, "");
  el.setAttribute("aria-invalid", "true");
  el.focus();
  const reason = e.message
    .replace(/^`[^`]*`\s*/, "")
    .replace(/`/g, "")
    .trim();
  return `${labelOf(el)}: ${reason}`;
}

/** Runs `f`, showing a refusal in `out` (cleared first, and the form's marks with it). */
export async function shown(out: HTMLElement, f: () => Promise<void>, form?: HTMLElement): Promise<boolean> {
  out.textContent = "";
  for (const el of form?.querySelectorAll("[aria-invalid]") ?? []) el.removeAttribute("aria-invalid");
  try {
    await f();
    return true;
  } catch (e) {
    out.textContent = problemText(e, form);
    return false;
  }
}

export const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** An element with text, for building lists and tables. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, props: Partial<HTMLElementTagNameMap[K]> = {}): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  if (text !== undefined) node.textContent = text;
  return node;
}
