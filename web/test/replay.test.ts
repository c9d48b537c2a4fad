// The client's replay reader (src/replay.ts) against the golden fixture the Rust tests write
// (protocol/fixtures/replay.arena-replay, with its contents as JSON beside it): the same header and
// records, the snapshot and events records decode as the room's messages, and what is not a whole
// replay is refused with a reason a person can read.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeServer } from "../src/protocol";
import { REPLAY_FORMAT_VERSION, ReplayError, readReplay } from "../src/replay";

const dir = join(process.cwd(), "..", "protocol", "fixtures");
const file = new Uint8Array(readFileSync(join(dir, "replay.arena-replay")));
const json = JSON.parse(readFileSync(join(dir, "replay.json"), "utf8"));

test("the replay fixture reads as the Rust example", () => {
  const replay = readReplay(file);
  const { state: _state, game_data: _gameData, ...header } = json.header;
  assert.deepEqual(replay.header, header);
  assert.equal(replay.header.format, REPLAY_FORMAT_VERSION);
  assert.equal(replay.records.length, json.records.length);
  replay.records.forEach((record, i) => {
    const want = json.records[i];
    assert.equal(record.kind, want.kind, `record ${i}`);
    if (record.kind === "snapshot" || record.kind === "events") {
      assert.equal(record.tick, want.tick);
      assert.deepEqual([...record.bytes], want.bytes);
      assert.equal(decodeServer(record.bytes).t, record.kind);
    }
    if (record.kind === "snapshot") assert.equal(record.keyframe, want.keyframe);
    if (record.kind === "tick") assert.deepEqual([record.tick, record.ops], [want.tick, want.ops]);
    if (record.kind === "end") assert.deepEqual(record.end, want.end);
  });
  assert.deepEqual(replay.end, json.records.at(-1).end);
});

test("what is not a whole replay is refused with a reason", () => {
  const refused = (bytes: Uint8Array, reason: RegExp) =>
    assert.throws(() => readReplay(bytes), (err: unknown) => err instanceof ReplayError && reason.test(err.message));
  refused(new TextEncoder().encode("<!doctype html>"), /not an Arena replay/);
  refused(file.subarray(0, file.length - 1), /truncated/);
  refused(file.subarray(0, 12), /truncated/);
  const newer = file.slice();
  newer[8] = REPLAY_FORMAT_VERSION + 1;
  refused(newer, /newer/);
  const damaged = file.slice();
  for (let i = 14; i < 30; i++) damaged[i] = (damaged[i] ?? 0) ^ 0x5a;
  refused(damaged, /damaged/);
});
