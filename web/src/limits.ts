// The limits and error codes the client shares with the server (protocol/src/lib.rs, `ErrorCode` in
// protocol/src/message.rs). A Rust test writes them to protocol/fixtures/limits.json, and
// test/limits.test.ts checks every constant here against that file, so a change on either side fails a test.

/** The protocol version this client speaks (the hello's `version`). */
export const PROTOCOL_VERSION = 12;
/** The most inputs one `inputs` message may carry (the server's `input_batch` is never more). */
export const MAX_INPUTS_PER_MESSAGE = 4;
/** The longest chat line, in characters after the server cleans it. */
export const MAX_CHAT_CHARS = 200;
/** Chat lines a player may send in any CHAT_WINDOW_SECS seconds; more are refused with `slow_down`... */
export const CHAT_BURST = 5;
export const CHAT_WINDOW_SECS = 10;
/** ...and after this many refusals in a row, the next line over the limit is `flooding`. */
export const CHAT_REFUSALS_BEFORE_FLOODING = 5;
/** How long a hand-off's ticket holds its seat, seconds: the client follows a hand-off at once. */
export const HANDOFF_TICKET_SECS = 15;
/** The longest operators' notice, in characters (the banner wraps; it is never cut). */
export const MAX_NOTICE_CHARS = 500;
/** The longest display name, in characters (Unicode scalar values) after trimming. */
export const MAX_NAME_CHARS = 24;
/** Room codes have this many letters... */
export const ROOM_CODE_LEN = 5;
/** ...from this alphabet (no I, L or O, which read like digits). */
export const ROOM_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ";
/** The largest client message the server accepts, bytes; a larger one is a fatal `too_large`. */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;
/** Positions and velocities travel as integers in 1/8 units (see protocol/README.md). */
export const POSITION_SCALE = 8;

/** Error codes after which the server closes the connection (the close frame's reason is the code). */
export const FATAL_ERRORS = [
  "version_mismatch",
  "malformed",
  "unknown_message",
  "too_large",
  "text_frame",
  "hello_required",
  "bad_name",
  "too_slow",
  "flooding",
  "shutting_down",
  "idle",
] as const;

/** Error codes that leave the connection open (the client may try another room, or later). */
export const RECOVERABLE_ERRORS = [
  "room_full",
  "room_not_found",
  "server_full",
  "not_in_room",
  "already_in_room",
  "room_closed",
  "bad_chat",
  "slow_down",
  "bad_ticket",
] as const;

/** The fatal codes after which reconnecting with the token may help: the link stalled or went quiet. */
export const RECONNECT_AFTER = ["too_slow", "idle"] as const;

export type FatalError = (typeof FATAL_ERRORS)[number];
export type RecoverableError = (typeof RECOVERABLE_ERRORS)[number];
export type ErrorCode = FatalError | RecoverableError;

/** Whether `s` is a room code the server could have issued (upper case; callers normalise first). */
export function isRoomCode(s: string): boolean {
  return s.length === ROOM_CODE_LEN && [...s].every((c) => ROOM_CODE_ALPHABET.includes(c));
}

/**
 * `raw` made a name the server accepts (or "" when nothing is left): without control characters (the
 * server refuses them), trimmed, and cut to MAX_NAME_CHARS characters. The server counts Unicode scalar
 * values after trimming, so the cut is by code points, not UTF-16 units (which would count an emoji
 * twice, or split it); trimmed again in case the cut leaves a space at the end.
 */
export function acceptableName(raw: string): string {
  const clean = raw.replace(/\p{Cc}/gu, "").trim();
  return Array.from(clean).slice(0, MAX_NAME_CHARS).join("").trim();
}

/**
 * Whether a connection closed with `reason` (the close frame's reason: an error code, or anything else
 * for a drop the server did not explain) should be retried with the reconnect token: yes unless the
 * server closed it with a fatal error, and then only for the ones a new link may cure.
 */
export function shouldReconnectAfter(reason: string): boolean {
  const fatal = (FATAL_ERRORS as readonly string[]).includes(reason);
  return !fatal || (RECONNECT_AFTER as readonly string[]).includes(reason);
}
