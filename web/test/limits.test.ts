// The client's shared limits (src/limits.ts) against the server's, as a Rust test writes them to
// protocol/fixtures/limits.json: every constant must be exactly the server's.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  acceptableName,
  CHAT_BURST,
  CHAT_REFUSALS_BEFORE_FLOODING,
  CHAT_WINDOW_SECS,
  FATAL_ERRORS,
  HANDOFF_TICKET_SECS,
  MAX_CHAT_CHARS,
  isRoomCode,
  MAX_CLIENT_MESSAGE_BYTES,
  MAX_INPUTS_PER_MESSAGE,
  MAX_NAME_CHARS,
  MAX_NOTICE_CHARS,
  POSITION_SCALE,
  PROTOCOL_VERSION,
  RECONNECT_AFTER,
  RECOVERABLE_ERRORS,
  ROOM_CODE_ALPHABET,
  ROOM_CODE_LEN,
  shouldReconnectAfter,
} from "../src/limits";
import * as protocol from "../src/protocol";

interface Limits {
  protocol_version: number;
  max_name_chars: number;
  room_code_len: number;
  room_code_alphabet: string;
  max_client_message_bytes: number;
  max_inputs_per_message: number;
  max_chat_chars: number;
  chat_burst: number;
  chat_window_secs: number;
  chat_refusals_before_flooding: number;
  handoff_ticket_secs: number;
  max_notice_chars: number;
  position_scale: number;
  fatal_errors: string[];
  recoverable_errors: string[];
  reconnect_after: string[];
}

const dir = join(process.cwd(), "..", "protocol", "fixtures");
const limits = JSON.parse(readFileSync(join(dir, "limits.json"), "utf8")) as Limits;

test("every shared constant is the server's", () => {
  assert.deepEqual(
    {
      protocol_version: PROTOCOL_VERSION,
      max_name_chars: MAX_NAME_CHARS,
      room_code_len: ROOM_CODE_LEN,
      room_code_alphabet: ROOM_CODE_ALPHABET,
      max_client_message_bytes: MAX_CLIENT_MESSAGE_BYTES,
      max_inputs_per_message: MAX_INPUTS_PER_MESSAGE,
      max_chat_chars: MAX_CHAT_CHARS,
      chat_burst: CHAT_BURST,
      chat_window_secs: CHAT_WINDOW_SECS,
      chat_refusals_before_flooding: CHAT_REFUSALS_BEFORE_FLOODING,
      handoff_ticket_secs: HANDOFF_TICKET_SECS,
      max_notice_chars: MAX_NOTICE_CHARS,
      position_scale: POSITION_SCALE,
      fatal_errors: [...FATAL_ERRORS],
      recoverable_errors: [...RECOVERABLE_ERRORS],
      reconnect_after: [...RECONNECT_AFTER],
    },
    limits,
    "src/limits.ts differs from protocol/fixtures/limits.json",
  );
});

test("the protocol module's version and grid are the shared ones", () => {
  assert.equal(protocol.PROTOCOL_VERSION, limits.protocol_version);
  assert.equal(protocol.POSITION_SCALE, limits.position_scale);
  assert.equal(Number(readFileSync(join(dir, "VERSION"), "utf8").trim()), PROTOCOL_VERSION);
});

test("room codes: the server's length and alphabet only", () => {
  assert.ok(isRoomCode("ABCDE"));
  assert.ok(isRoomCode(limits.room_code_alphabet.slice(-limits.room_code_len)));
  for (const letter of "ILO") assert.ok(!isRoomCode(`ABCD${letter}`), `${letter} is never issued`);
  assert.ok(!isRoomCode("ABCD"));
  assert.ok(!isRoomCode("ABCDEF"));
  assert.ok(!isRoomCode("abcde"), "callers upper-case first");
  assert.ok(!isRoomCode("ABC1E"));
});

test("reconnect after drops and the link's fatal errors, not after the others", () => {
  assert.ok(shouldReconnectAfter(""), "a drop with no reason");
  for (const code of limits.recoverable_errors) assert.ok(shouldReconnectAfter(code), code);
  for (const code of limits.fatal_errors) {
    assert.equal(shouldReconnectAfter(code), limits.reconnect_after.includes(code), code);
  }
  assert.ok(limits.reconnect_after.length > 0 && limits.fatal_errors.length > limits.reconnect_after.length);
});

test("names are cut by characters, as the server counts them", () => {
  assert.equal(acceptableName("  Ada  "), "Ada");
  assert.equal(acceptableName("x".repeat(30)), "x".repeat(limits.max_name_chars));
  // 24 emoji are 48 UTF-16 units but 24 characters: all kept, none split.
  const emoji = "🚀".repeat(30);
  assert.equal(Array.from(acceptableName(emoji)).length, limits.max_name_chars);
  assert.equal(acceptableName(emoji), "🚀".repeat(limits.max_name_chars));
  assert.equal(acceptableName("é".repeat(limits.max_name_chars)), "é".repeat(limits.max_name_chars));
  assert.equal(acceptableName("a\u0000b\tc\n"), "abc", "no control characters");
  assert.equal(acceptableName(`${"y".repeat(limits.max_name_chars - 1)} z`), "y".repeat(limits.max_name_chars - 1), "no trailing space");
  assert.equal(acceptableName(" \t "), "");
});
