// Whispers (src/chat.ts): `/w NAME text` finds its player by the longest name the rest starts with
// (names may have spaces, and one may begin another), any case; a name nobody has, or no text, is an
// error for the player to see, and a line without /w is for the room.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseWhisper } from "../src/chat";

const names = new Map([
  [1, "Ada"],
  [2, "Ada Lovelace"],
  [3, "Grace"],
]);

test("a whisper goes to the player the line names", () => {
  assert.deepEqual(parseWhisper("/w Grace left side", names), { to: 3, text: "left side" });
  assert.deepEqual(parseWhisper("/w grace  left side ", names), { to: 3, text: "left side" });
  assert.deepEqual(parseWhisper("/whisper Ada hi", names), { to: 1, text: "hi" });
  assert.deepEqual(parseWhisper("/w Ada Lovelace hi", names), { to: 2, text: "hi" }, "the longest name wins");
});

test("no such player, nothing to say, or no /w", () => {
  assert.deepEqual(parseWhisper("/w Linus hi", names), { error: "No player here is called Linus" });
  assert.deepEqual(parseWhisper("/w Grace ", names), { error: "Say something after the name" });
  assert.equal(parseWhisper("gg /w Grace", names), null);
  assert.equal(parseWhisper("/weird", names), null);
});
