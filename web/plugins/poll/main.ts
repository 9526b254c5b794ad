// Quick poll on broadcast and emit: the creator broadcasts the poll, each voter emits
// their vote to the creator only, the creator tallies and broadcasts the results, and
// hands the running poll to anyone who arrives later (emit). Runs the legacy handshake.
import { connect, type JsonValue, type Participant } from "../../sdk/src/index";

interface Poll {
  id: string;
  question: string;
  options: string[];
  host: string;
}

const plugin = connect({ legacyHandshake: true });
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let me: Participant | undefined;
let poll: Poll | undefined;
let counts: number[] = [];
let myVote: number | undefined;
const votes = new Map<string, number>(); // voter -> option, kept by the poll's host
const people = new Map<string, Participant>();

const status = (t: string) => ($("status").textContent = t);
const isHost = () => !!poll && !!me && poll.host === String(me.id);

function render(): void {
  $("people").textContent = `${people.size} here: ${[...people.values()].map((p) => p.name).join(", ")}`;
  if (!poll) return;
  $("question").textContent = poll.question;
  const total = counts.reduce((a, b) => a + b, 0);
  $("options").replaceChildren(
    ...poll.options.map((label, i) => {
      const row = document.createElement("div");
      row.className = "opt";
      const b = document.createElement("button");
      b.textContent = `${myVote === i ? "✓ " : ""}${label}`;
      b.dataset.option = String(i);
      b.onclick = () => vote(i);
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = `${total ? (120 * (counts[i] ?? 0)) / total : 0}px`;
      const n = document.createElement("span");
      n.className = "count";
      n.textContent = String(counts[i] ?? 0);
      row.append(b, bar, n);
      return row;
    }),
  );
}

function asPoll(m: JsonValue): Poll | undefined {
  if (!m || typeof m !== "object" || Array.isArray(m)) return undefined;
  const { id, question, options, host } = m;
  if (typeof id !== "string" || typeof question !== "string" || !Array.isArray(options) || typeof host !== "string") return undefined;
  return { id, question, options: options.map(String), host };
}

function tally(): void {
  if (!poll) return;
  counts = poll.options.map((_, i) => [...votes.values()].filter((v) => v === i).length);
  plugin.broadcast("poll:results", { id: poll.id, counts });
  render();
}

function vote(option: number): void {
  if (!poll || !me) return;
  myVote = option;
  if (isHost()) {
    votes.set(String(me.id), option);
    tally();
  } else {
    plugin.emit(poll.host, "poll:vote", { id: poll.id, option });
    render();
  }
  status(`you voted ${poll.options[option]}`);
}

function start(p: Poll, fresh: boolean): void {
  poll = p;
  if (fresh) {
    votes.clear();
    myVote = undefined;
    counts = p.options.map(() => 0);
  }
  render();
}

plugin.on("ovice_message", (m) => {
  if (m.event === "poll:start") {
    const p = asPoll(m.message);
    if (p) {
      start(p, p.id !== poll?.id);
      status(`poll from ${people.get(m.source)?.name ?? m.source}`);
    }
  } else if (m.event === "poll:vote" && isHost() && m.to !== undefined) {
    const v = m.message as { id?: string; option?: number };
    if (poll && v && v.id === poll.id && typeof v.option === "number" && v.option >= 0 && v.option < poll.options.length) {
      votes.set(m.source, v.option);
      tally();
    }
  } else if (m.event === "poll:results") {
    const r = m.message as { id?: string; counts?: number[] };
    if (r && r.id === poll?.id && Array.isArray(r.counts)) {
      counts = r.counts.map(Number);
      render();
    }
  }
});

const arrived = (p: Participant) => {
  people.set(String(p.id), p);
  render();
  // The poll's host hands the running poll and its results to whoever arrives.
  if (!p.isSelf && poll && isHost()) {
    plugin.emit(p.id, "poll:start", { ...poll });
    plugin.emit(p.id, "poll:results", { id: poll.id, counts });
  }
};
plugin.on("ovice_participant_subscribed", arrived);
plugin.on("ovice_participant_joined", (p) => {
  people.set(String(p.id), p);
  render();
});
plugin.on("ovice_participant_left", (p) => {
  people.set(String(p.id), p);
  render();
});
plugin.on("ovice_participant_unsubscribed", (p) => {
  people.delete(String(p.id));
  render();
});
plugin.on("meetbridge_error", (e) => status(`refused: ${e.message}`));

$<HTMLFormElement>("create").onsubmit = (e) => {
  e.preventDefault();
  const question = $<HTMLInputElement>("q").value.trim();
  const options = $<HTMLInputElement>("opts").value.split(",").map((s) => s.trim()).filter(Boolean);
  if (!question || options.length < 2 || !me) {
    status("a question and at least two options, please");
    return;
  }
  const p: Poll = { id: Date.now().toString(36), question, options, host: String(me.id) };
  start(p, true);
  plugin.broadcast("poll:start", { ...p });
  status("poll started");
};

plugin.ready.then(
  () => console.debug("poll: legacy handshake done"),
  (e: Error) => console.debug(`poll: no legacy handshake (${e.message})`),
);
(async () => {
  try {
    const list = await plugin.getParticipants();
    for (const p of list) people.set(String(p.id), p);
    me = list.find((p) => p.isSelf);
    render();
  } catch (e) {
    status(`could not load: ${(e as Error).message}`);
  }
})();
