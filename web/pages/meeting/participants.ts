// The meeting page's participants panel: who is in the call, who waits in the lobby, who
// is muted, presenting, spotlighted or has a hand raised, from the plugin's
// `rocketchat:videoconf` roster (through ExternalChatHost). The host's controls are shown
// per participant only when the plugin announced the feature (`ready.features`) and the
// participant's `can.*` allows it; a plugin of the original dialect gets a note instead.
// Every control goes through ExternalChatHost, which checks it in Rust; the result
// arrives as the next roster.
import type { ExternalChatHost, RosterParticipant, SelfState } from "../../host/external-chat-host";

/** Which `can.*` flag allows each control. */
const ALLOWED_BY: Record<string, keyof RosterParticipant["can"]> = {
  mute: "mute",
  "mute-video": "mute",
  "raise-hand": "raiseHand",
  spotlight: "spotlight",
  disconnect: "disconnect",
  transfer: "transfer",
  admit: "control",
  "set-role": "control",
  dtmf: "control",
};

export interface ParticipantsPanel {
  /** Opens or closes the panel (the toolbar button does the same). */
  setOpen(open: boolean): void;
  readonly open: boolean;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/**
 * Adds the panel to `main` and its toggle button before `before` (in the page header),
 * and keeps both in step with `host`.
 */
export function mountParticipants(host: ExternalChatHost, main: HTMLElement, before: HTMLElement): ParticipantsPanel {
  const count = el("span", { className: "count", hidden: true });
  const toggle = el("button", { id: "participants-toggle", type: "button", title: "Participants" }, "Participants ", count);
  toggle.setAttribute("aria-pressed", "false");
  toggle.setAttribute("aria-controls", "participants-panel");
  before.before(toggle);
  const status = el("p", { id: "participants-status", className: "error" });
  status.setAttribute("role", "alert");
  const note = el("p", { id: "participants-note" });
  const tools = el("div", { id: "participants-tools" });
  const lobby = el("ul", { id: "participants-lobby" });
  const inCall = el("ul", { id: "participants-list" });
  const lobbyTitle = el("h3", {}, "Waiting in the lobby");
  const panel = el(
    "aside",
    { id: "participants-panel", hidden: true },
    el("h2", {}, "Participants"),
    note,
    tools,
    status,
    lobbyTitle,
    lobby,
    el("h3", {}, "In the call"),
    inCall,
  );
  panel.setAttribute("aria-label", "Participants");
  main.append(panel);

  let open = false;
  let participants: RosterParticipant[] = [];
  let me: SelfState | undefined;

  const offers = (feature: string) => host.offers(feature);
  const allowed = (feature: string, p: RosterParticipant) => offers(feature) && p.can[ALLOWED_BY[feature]];

  /** Runs a control, showing why it was refused. */
  function act(what: string, f: () => void): void {
    status.textContent = "";
    try {
      f();
    } catch (error) {
      status.textContent = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  function button(label: string, control: string, run: () => void): HTMLButtonElement {
    const b = el("button", { type: "button", className: "control" }, label);
    b.dataset.control = control;
    b.addEventListener("click", () => act(label, run));
    return b;
  }

  function badges(p: RosterParticipant): HTMLElement {
    const out = el("span", { className: "badges" });
    const add = (name: string, text: string) => {
      const b = el("span", { className: `state ${name}` }, text);
      b.dataset.state = name;
      out.append(b);
    };
    if (p.isHost) add("host", "host");
    if (p.isWaiting) add("waiting", "waiting");
    if (p.isMuted || p.isClientMuted) add("muted", "muted");
    if (p.isCameraMuted) add("camera-off", "camera off");
    if (p.isPresenting) add("presenting", "presenting");
    if (p.isSpotlight) add("spotlight", "spotlight");
    if (p.raisedHand) add("hand", "✋ hand raised");
    return out;
  }

  function controls(p: RosterParticipant): HTMLElement {
    const out = el("span", { className: "controls" });
    const self = p.uuid === me?.participantUuid;
    const uuid = p.uuid;
    if (p.isWaiting) {
      if (allowed("admit", p)) out.append(button("Admit", "admit", () => host.admit(uuid)));
      if (allowed("disconnect", p)) out.append(button("Deny", "disconnect", () => host.disconnect(uuid)));
      return out;
    }
    if (allowed("mute", p)) out.append(button(p.isMuted ? "Unmute" : "Mute", "mute", () => host.mute(uuid, !p.isMuted)));
    if (allowed("mute-video", p)) out.append(button(p.isCameraMuted ? "Start video" : "Stop video", "mute-video", () => host.muteVideo(uuid, !p.isCameraMuted)));
    // Anyone may raise their own hand; a host may lower another's.
    if (allowed("raise-hand", p) && (self || p.raisedHand)) {
      out.append(button(p.raisedHand ? "Lower hand" : "Raise hand", "raise-hand", () => host.raiseHand(uuid, !p.raisedHand)));
    }
    if (allowed("spotlight", p)) out.append(button(p.isSpotlight ? "Unspotlight" : "Spotlight", "spotlight", () => host.spotlight(uuid, !p.isSpotlight)));
    if (!self && allowed("set-role", p)) {
      out.append(button(p.isHost ? "Make guest" : "Make host", "set-role", () => host.setRole(uuid, p.isHost ? "guest" : "host")));
    }
    if (!self && allowed("disconnect", p)) out.append(button("Remove", "disconnect", () => host.disconnect(uuid)));
    if (!self && (allowed("transfer", p) || allowed("dtmf", p))) out.append(more(p));
    return out;
  }

  /** Transfer and DTMF need input: a small form per participant. */
  function more(p: RosterParticipant): HTMLElement {
    const details = el("details", { className: "more" }, el("summary", {}, "More"));
    if (allowed("transfer", p)) {
      const alias = el("input", { name: "alias", placeholder: "conference alias", autocomplete: "off" });
      details.append(el("label", {}, "Transfer to ", alias), button("Transfer", "transfer", () => host.transfer(p.uuid, alias.value.trim())));
    }
    if (allowed("dtmf", p)) {
      const digits = el("input", { name: "digits", placeholder: "0-9 * #", autocomplete: "off" });
      details.append(el("label", {}, "Tones ", digits), button("Send tones", "dtmf", () => host.dtmf(p.uuid, digits.value.trim())));
    }
    return details;
  }

  function row(p: RosterParticipant): HTMLLIElement {
    const li = el("li", { className: "participant" });
    li.dataset.uuid = p.uuid;
    const name = el("span", { className: "name" }, p.displayName || p.uuid);
    if (p.uuid === me?.participantUuid) name.append(" (you)");
    li.append(name, badges(p), controls(p));
    return li;
  }

  function render(): void {
    const roster = offers("roster");
    note.textContent = host.ready && !roster ? "This Web App 3 plugin does not share the participant list." : participants.length === 0 ? "Nobody is in the call." : "";
    tools.replaceChildren();
    if (offers("mute-all-guests") && me?.canControl) {
      tools.append(button("Mute all guests", "mute-all-guests", () => host.muteAllGuests(true)), button("Unmute all guests", "unmute-all-guests", () => host.muteAllGuests(false)));
    }
    const waiting = participants.filter((p) => p.isWaiting);
    lobby.replaceChildren(...waiting.map(row));
    lobby.hidden = lobbyTitle.hidden = waiting.length === 0;
    inCall.replaceChildren(...participants.filter((p) => !p.isWaiting).map(row));
    count.hidden = participants.length === 0;
    count.textContent = String(participants.length);
    toggle.title = waiting.length > 0 ? `Participants (${waiting.length} waiting)` : "Participants";
  }

  function setOpen(value: boolean): void {
    open = value;
    panel.hidden = !open;
    toggle.setAttribute("aria-pressed", String(open));
    // The plugin sends the current roster at once when the panel opens.
    if (offers("roster")) act("participants", () => host.setParticipantsPanel(open));
    render();
  }

  toggle.addEventListener("click", () => setOpen(!open));
  host.onRoster((r) => {
    participants = r.participants;
    render();
  });
  host.onSelf((s) => {
    me = s;
    render();
  });
  host.onCapabilities(() => {
    if (open) setOpen(true);
    else render();
  });
  render();
  return {
    setOpen,
    get open() {
      return open;
    },
  };
}
