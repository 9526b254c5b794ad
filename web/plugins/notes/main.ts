// Notes board: a shared board of sticky notes on the object's saved data.
// Uses getData / saveAndEmitData (ovice_saved_data, ovice_data_saved_success,
// ovice_shared_data), getParticipants and the participant events.
import { connect, type DataDocument, type JsonValue, type Participant } from "../../sdk/src/index";

interface Note {
  id: string;
  text: string;
  author: string;
  at: number;
}

const plugin = connect();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let notes: Note[] = [];
const people = new Map<string, Participant>();

function readNotes(doc: DataDocument): Note[] {
  const list = doc.notes;
  if (!Array.isArray(list)) return [];
  return list.filter((n): n is { [k: string]: JsonValue } => !!n && typeof n === "object" && !Array.isArray(n))
    .map((n) => ({ id: String(n.id), text: String(n.text ?? ""), author: String(n.author ?? "?"), at: Number(n.at ?? 0) }));
}

function render(): void {
  const ul = $<HTMLUListElement>("notes");
  ul.replaceChildren(
    ...notes.map((n) => {
      const li = document.createElement("li");
      li.dataset.id = n.id;
      const del = document.createElement("button");
      del.textContent = "×";
      // Says what it acts on, for screen readers and the tooltip alike.
      del.title = `Delete note by ${n.author}`;
      del.setAttribute("aria-label", del.title);
      del.onclick = () => void save(notes.filter((x) => x.id !== n.id));
      const by = document.createElement("small");
      by.textContent = n.author;
      li.append(del, document.createTextNode(n.text), by);
      return li;
    }),
  );
  $("people").textContent = `Here: ${[...people.values()].map((p) => `${p.name}${p.isSelf ? " (you)" : ""}: ${presenceWords(p.status)}`).join(", ")}`;
}

/** What a person calls a presence state: "linked" (joined), else "near". */
function presenceWords(status: Participant["status"]): string {
  return status === "joined" ? "linked" : "near";
}

function status(text: string): void {
  $("status").textContent = text;
}

async function save(next: Note[]): Promise<void> {
  notes = next;
  render();
  status("saving…");
  try {
    const saved = await plugin.saveAndEmitData({ notes: next.map((n) => ({ ...n })) });
    status(`saved${saved.updated_at ? ` at ${new Date(saved.updated_at * 1000).toLocaleTimeString()}` : ""}`);
  } catch (e) {
    status(`not saved: ${(e as Error).message}`);
  }
}

plugin.on("ovice_shared_data", (doc) => {
  notes = readNotes(doc);
  render();
  status("updated by someone else");
});
for (const type of ["ovice_participant_subscribed", "ovice_participant_joined", "ovice_participant_left"] as const) {
  plugin.on(type, (p) => {
    people.set(String(p.id), p);
    render();
  });
}
plugin.on("ovice_participant_unsubscribed", (p) => {
  people.delete(String(p.id));
  render();
});

$<HTMLFormElement>("add").onsubmit = async (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>("text");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  const me = await plugin.me().catch(() => undefined);
  const note: Note = { id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`, text, author: me?.name ?? "someone", at: Date.now() };
  await save([...notes, note]);
};

(async () => {
  try {
    const [doc, list] = await Promise.all([plugin.getData(), plugin.getParticipants()]);
    notes = readNotes(doc);
    for (const p of list) people.set(String(p.id), p);
    render();
    status(`${notes.length} note(s)`);
  } catch (e) {
    status(`could not load: ${(e as Error).message}`);
  }
})();
