// The replay timeline (src/playback.ts) from the golden fixture: its two snapshots decoded into whole
// states, the scores of the keyframe carried to the delta (which leaves them out), the kill marker
// and the names, and seeking by tick and by seconds.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildTimeline, frameAt, secondsAt, tickAt } from "../src/playback";
import { readReplay } from "../src/replay";

const file = new Uint8Array(readFileSync(join(process.cwd(), "..", "protocol", "fixtures", "replay.arena-replay")));

test("the fixture's timeline: frames, scores carried forward, kills, names, seeking", () => {
  const t = buildTimeline(readReplay(file));
  assert.deepEqual(t.frames.map((f) => f.tick), [1234, 1236]);
  assert.ok(t.frames[1]!.snapshot.ships.some((s) => s.id === 9), "the delta decoded on the keyframe: 9 joined");
  assert.ok(t.frames[1]!.snapshot.scores.length === 0, "the delta leaves unchanged scores out");
  assert.deepEqual(t.frames[1]!.scores, t.frames[0]!.scores.filter(([id]) => id !== 9), "carried, minus who left");
  assert.deepEqual(t.kills, [{ tick: 1236, killer: 3, victim: 7 }]);
  assert.equal(t.names.get(9), "Linus");
  assert.equal(t.names.get(3), "Grace");
  assert.deepEqual([t.firstTick, t.lastTick, t.complete], [1234, 1240, true]);
  assert.equal(frameAt(t, 0), 0);
  assert.equal(frameAt(t, 1235), 0);
  assert.equal(frameAt(t, 1236), 1);
  assert.equal(frameAt(t, 99999), 1);
  assert.equal(secondsAt(t, 1240), 0.1);
  assert.equal(tickAt(t, 0.05), 1237);
  assert.equal(tickAt(t, 100), 1240);
});
