// What the pages show people instead of protocol words: presence states, the connection,
// and the server's refusals. The space view, the dev view and the admin console say the
// same thing the same way; protocol names stay in the console log and the tests.
import type { ErrorCode, PresenceStatus } from "../../crates/protocol/bindings/protocol";
import type { HostEvent } from "../host/index";

/** A presence state as people say it in a space (the space view's short form). */
export function presenceWords(status: PresenceStatus | undefined): string {
  switch (status) {
    case "joined":
      return "linked";
    case "subscribed":
    case "left":
      return "near";
    default:
      return "away";
  }
}

/** A presence state as a sentence about one user (the dev view's columns). */
export function presenceSentence(status: PresenceStatus): string {
  switch (status) {
    case "subscribed":
      return "Near the object";
    case "joined":
      return "Linked";
    case "left":
      return "Unlinked, still near";
    case "unsubscribed":
      return "Walked away";
  }
}

/** The connection, from the host runtime's last `state` event. */
export function connectionWords(e: Extract<HostEvent, { kind: "state" }> | undefined): string {
  if (!e) return "not connected yet";
  switch (e.state) {
    case "open":
      return "connected";
    case "connecting":
      return "connecting…";
    case "closed":
      return e.retryInMs ? `offline, reconnecting in ${Math.round(e.retryInMs / 100) / 10} s` : "offline";
  }
}

/** What the server's error code means for the person in front of the page. */
const PROBLEM_WORDS: Record<ErrorCode | "plugin_url_refused", string> = {
  plugin_url_refused: "its plugin address is not one this server allows",
  bad_frame: "the message was not understood",
  invalid_message: "the message is not valid",
  too_large: "the message is too large",
  unknown_object: "this object does not exist (any more)",
  not_member: "this user is not near the object",
  recipient_not_member: "the person it was meant for is not near the object",
  spoofed_source: "the message claimed to come from someone else",
  rate_limited: "too many messages at once; wait a moment",
  unauthorized: "this user may not do that (signed out, or the sign-in expired)",
  internal: "the server had a problem; try again",
};

/** A refusal (a `refused` or `error` event, or a rejected presence) in words. */
export function problemWords(code: string | undefined, what?: string): string {
  const why = (code && PROBLEM_WORDS[code as keyof typeof PROBLEM_WORDS]) || "the server refused it";
  return what ? `${what}: ${why}.` : `${why[0].toUpperCase()}${why.slice(1)}.`;
}

/** Why a page could not start, from the error it met, with what to do. */
export function startProblem(page: string, e: unknown): string {
  const why = e instanceof Error ? e.message : String(e);
  if (/Failed to fetch|NetworkError|network/i.test(why)) {
    return `The ${page} could not start: the server did not answer. Check that it is running (make run), then reload this page.`;
  }
  if (/ 40[13] /.test(why)) return `The ${page} could not start: the server did not let this page in. Sign in again, then reload.`;
  if (/wasm|WebAssembly/i.test(why)) return `The ${page} could not start: the host runtime did not load. Rebuild the pages (npm run wasm && npm run build), then reload.`;
  return `The ${page} could not start. Reload the page; if it keeps failing, restart the server (make run) and look at its log.`;
}
