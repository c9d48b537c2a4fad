// Replay links (src/viewer.ts): `#replay/ID` and `#replay/ID@t=SECONDS` written and read back, and
// anything else refused (so an invite code or a stray hash never opens the viewer).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseReplayHash, replayHash } from "../src/viewer";

test("replay links round-trip, with and without a moment", () => {
  const id = "20261206-153000-kqztrabc";
  assert.equal(replayHash(id), `#replay/${id}`);
  assert.equal(replayHash(id, 83.9), `#replay/${id}@t=83`);
  assert.deepEqual(parseReplayHash(replayHash(id)), { id, seconds: 0 });
  assert.deepEqual(parseReplayHash(replayHash(id, 83.9)), { id, seconds: 83 });
  assert.deepEqual(parseReplayHash(`#replay/${id}@t=1.5`), { id, seconds: 1.5 });
});

test("other hashes are not replay links", () => {
  for (const hash of ["", "#KQZTR", "#replays", "#replay/", "#replay/a b", "#replay/x@t=", "#replay/x@t=-1", "#replay/../etc"]) {
    assert.equal(parseReplayHash(hash), null, hash);
  }
});
