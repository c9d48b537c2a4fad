// The replay timeline (src/playback.ts) from the golden fixture: its two snapshots decoded into whole
// states, the scores of the keyframe carried to the delta (which leaves them out), the kill marker
// and the names, and seeking by tick and by seconds.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildTimeline, frameAt, secondsAt, tickAt, viewAt } from "../src/playback";
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

test("the view between two frames: ships interpolated as live play does, projectiles flown on", () => {
  const t = buildTimeline(readReplay(file));
  const [a, b] = t.frames as [(typeof t.frames)[0], (typeof t.frames)[0]];
  const both = a.snapshot.ships.filter((s) => s.respawnTicks === 0 && b.snapshot.ships.some((o) => o.id === s.id && o.respawnTicks === 0));
  assert.ok(both.length > 0, "the fixture has a ship alive in both frames");
  const mid = viewAt(t, (a.tick + b.tick) / 2);
  assert.equal(mid.frame, a);
  for (const s of both) {
    const later = b.snapshot.ships.find((o) => o.id === s.id)!;
    const seen = mid.ships.find((o) => o.id === s.id)!;
    assert.equal(seen.x, s.x + (later.x - s.x) / 2);
    assert.equal(seen.y, s.y + (later.y - s.y) / 2);
  }
  const atA = viewAt(t, a.tick);
  assert.deepEqual(atA.ships.map((s) => [s.id, s.x, s.y]), a.snapshot.ships.map((s) => [s.id, s.x, s.y]));
  const flying = a.snapshot.projectiles.filter((p) => p.tick <= a.tick && a.tick < p.endTick);
  assert.deepEqual(atA.projectiles.map((p) => p.id).sort(), flying.map((p) => p.id).sort());
  assert.equal(viewAt(t, 99999).frame, b, "past the end: the last frame");
});
