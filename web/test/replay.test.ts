// The client's replay reader (src/replay.ts) against the golden fixture the Rust tests write
// (protocol/fixtures/replay.arena-replay, with its contents as JSON beside it): the same header and
// records, the snapshot and events records decode as the room's messages (the input blocks of format 2
// are skipped, the ops of each tick counted), a format 1 file still reads, and what is not a whole
// replay is refused with a reason a person can read.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { encode } from "@msgpack/msgpack";
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

/** A zstd frame of one raw (stored) block: what a compressor may write for bytes that do not compress. */
function rawZstdFrame(bytes: Uint8Array): Uint8Array {
  assert.ok(bytes.length < 256, "a one-byte content size");
  const header = [0x28, 0xb5, 0x2f, 0xfd, 0x20, bytes.length]; // magic; single segment, 1-byte size
  const block = (bytes.length << 3) | 1; // last block, raw
  return new Uint8Array([...header, block & 0xff, (block >> 8) & 0xff, block >> 16, ...bytes]);
}

test("a format 1 file (inputs whole in their tick records, no input block) still reads", () => {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerChunk = file.subarray(10, 14 + view.getUint32(10, true));
  const records = [
    [1, 1231, [[4, 3, 7, 1.0, 0.0, 0.25, 1, 1232.5], [1, 9, "Linus", null]]],
    [2, 1232, true, new Uint8Array([0x90])],
    [4, 1240, "finished", [[3, "Grace", 1, 0]], 1],
  ];
  const frame = rawZstdFrame(new Uint8Array(records.flatMap((r) => [...encode(r)])));
  const v1 = new Uint8Array([...file.subarray(0, 8), 1, 0, ...headerChunk, frame.length, 0, 0, 0, ...frame]);
  const replay = readReplay(v1);
  assert.deepEqual(
    replay.records.map((r) => [r.kind, r.kind === "tick" ? r.ops : null]),
    [["tick", 2], ["snapshot", null], ["end", null]],
  );
  const players = [{ id: 3, name: "Grace", kills: 1, deaths: 0 }];
  assert.deepEqual(replay.end, { tick: 1240, reason: "finished", players, kills: 1 });
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
