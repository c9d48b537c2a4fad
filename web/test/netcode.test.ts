// Prediction, reconciliation and interpolation against a model server. The model moves ships with the
// client's own rule (src/sim.ts), so these tests say nothing about whether that rule is the server's:
// test/motion.test.ts checks that, against the Rust server's golden vectors. What they check is the
// netcode around the rule: replaying unacknowledged inputs, blending corrections, interpolating.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SnapshotBuffer, interpolateShip } from "../src/interpolation";
import { Predictor } from "../src/prediction";
import type { Input, MapInfo, Ship, Snapshot, TuningInfo } from "../src/protocol";
import { type Body, stepShip } from "../src/sim";

const tuning: TuningInfo = {
  ship_radius: 20,
  max_speed: 320,
  acceleration: 1600,
  friction: 1000,
  max_health: 100,
  fire_cooldown_ticks: 15,
  projectile_speed: 900,
  projectile_radius: 5,
  projectile_lifetime_ticks: 90,
  respawn_ticks: 180,
  pickup_radius: 24,
};
const map: MapInfo = { name: "t", size: [1600, 1000], walls: [[700, 300, 200, 400]], pickups: [] };
const dt = 1 / 60;

function ship(b: Body, id = 1): Ship {
  return { id, x: b.x, y: b.y, vx: b.vx, vy: b.vy, aim: 0, health: 100, respawnTicks: 0 };
}

function snapshot(tick: number, ships: Ship[]): Snapshot {
  return { t: "snapshot", tick, acks: new Map(), ships, projectiles: [], pickups: 0, phase: "warmup", endsTick: 0, scores: [] };
}

/** Inputs that steer around and into the wall. */
function inputs(n: number): Input[] {
  return Array.from({ length: n }, (_, i) => {
    const a = i / 25;
    return { seq: i + 1, movement: [Math.cos(a), Math.sin(a)] as [number, number], aim: 0, buttons: 0 };
  });
}

test("the model server's ship rests against this test map's wall and edge (a smoke test of the setup)", () => {
  // Only that the scenario below does reach the wall; the rule itself is test/motion.test.ts's to check.
  const b: Body = { x: 600, y: 500, vx: 0, vy: 0 };
  for (let i = 0; i < 120; i++) stepShip(b, [1, 0], tuning, map, dt);
  assert.equal(b.x, 700 - 20);
  assert.equal(b.vx, 0);
  for (let i = 0; i < 240; i++) stepShip(b, [0, 1], tuning, map, dt);
  assert.equal(b.y, 1000 - 20);
});

test("with no latency, prediction matches the server exactly", () => {
  const server: Body = { x: 300, y: 500, vx: 0, vy: 0 };
  const p = new Predictor(tuning, map, dt);
  p.reconcile(ship(server), 0);
  for (const input of inputs(300)) {
    p.apply(input);
    stepShip(server, input.movement, tuning, map, dt);
    p.reconcile(ship(server), input.seq);
    assert.deepEqual(p.body, server);
  }
  assert.ok(p.corrections.every((c) => c === 0));
});

test("with latency, replaying unacknowledged inputs converges on the server's state", () => {
  const server: Body = { x: 300, y: 500, vx: 0, vy: 0 };
  const p = new Predictor(tuning, map, dt);
  p.reconcile(ship(server), 0);
  const all = inputs(400);
  const lag = 6; // the server is 6 inputs behind the client
  let applied = 0;
  for (const input of all) {
    p.apply(input);
    if (input.seq > lag) {
      const next = all[applied]!;
      stepShip(server, next.movement, tuning, map, dt);
      applied += 1;
      p.reconcile(ship(server), next.seq);
    }
  }
  // Every reconciliation agreed with the prediction made before it.
  assert.equal(Math.max(...p.corrections), 0);
  // Once the server catches up, the prediction is the server's state.
  for (const next of all.slice(applied)) {
    stepShip(server, next.movement, tuning, map, dt);
    p.reconcile(ship(server), next.seq);
  }
  assert.deepEqual(p.body, server);
  assert.equal(p.pendingCount, 0);
});

test("a misprediction is corrected and the visual offset blends away", () => {
  const server: Body = { x: 300, y: 500, vx: 0, vy: 0 };
  const p = new Predictor(tuning, map, dt);
  p.reconcile(ship(server), 0);
  p.apply({ seq: 1, movement: [1, 0], aim: 0, buttons: 0 });
  // The server moved the ship differently (e.g. it was pushed): 10 units further.
  const truth = { ...p.body, x: p.body.x + 10 };
  p.reconcile(ship(truth), 1);
  assert.equal(p.body.x, truth.x, "the state is the server's");
  assert.equal(p.renderPosition(1).x, truth.x - 10, "the view starts where it was");
  p.decay(0.5);
  assert.ok(Math.abs(p.renderPosition(1).x - truth.x) < 0.1, "and blends to the truth");
  assert.equal(p.corrections[0], 10);
});

test("a big jump (respawn) snaps instead of blending", () => {
  const p = new Predictor(tuning, map, dt);
  p.reconcile(ship({ x: 100, y: 100, vx: 0, vy: 0 }), 0);
  p.reconcile(ship({ x: 1400, y: 900, vx: 0, vy: 0 }), 0);
  assert.deepEqual(p.renderPosition(1), { x: 1400, y: 900 });
});

test("interpolation between two snapshots is linear in time", () => {
  const a = ship({ x: 100, y: 100, vx: 300, vy: 0 });
  const b = ship({ x: 110, y: 120, vx: 300, vy: 0 });
  const mid = interpolateShip(a, 10, snapshot(12, [b]), 11, 1000 / 60);
  assert.equal(mid.x, 105);
  assert.equal(mid.y, 110);
  const end = interpolateShip(a, 10, snapshot(12, [b]), 12, 1000 / 60);
  assert.equal(end.x, 110);
});

test("late snapshots extrapolate for a bounded time only", () => {
  const a = ship({ x: 100, y: 100, vx: 300, vy: 0 });
  const tickMs = 1000 / 60;
  const soon = interpolateShip(a, 10, undefined, 13, tickMs); // 50 ms late
  assert.ok(Math.abs(soon.x - 115) < 1e-9);
  const late = interpolateShip(a, 10, undefined, 100, tickMs); // 1.5 s late
  assert.ok(Math.abs(late.x - 130) < 1e-9, "held at 100 ms of extrapolation");
});

test("the buffer renders about two snapshot intervals behind and adapts to jitter", () => {
  const tickMs = 1000 / 60;
  const snapMs = 1000 / 30;
  const steady = new SnapshotBuffer(tickMs, snapMs);
  const jittery = new SnapshotBuffer(tickMs, snapMs);
  let seed = 1;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 300; i++) {
    const tick = i * 2;
    const ships = [ship({ x: tick, y: 0, vx: 60, vy: 0 }, 2)];
    steady.push(snapshot(tick, ships), 1000 + tick * tickMs + 40);
    jittery.push(snapshot(tick, ships), 1000 + tick * tickMs + 40 + rand() * 30);
  }
  assert.ok(Math.abs(steady.delay - 2 * snapMs) < 2, `steady delay ${steady.delay}`);
  assert.ok(jittery.delay > steady.delay + 5, `jittery delay ${jittery.delay} vs ${steady.delay}`);
  // The render tick trails the newest snapshot by about the delay.
  const now = 1000 + 598 * tickMs + 40;
  const behindMs = (598 - steady.renderTick(now)) * tickMs;
  assert.ok(Math.abs(behindMs - steady.delay) < 1, `${behindMs}`);
  // Interpolated positions fall on the line the ship travels.
  const s = steady.ships(steady.renderTick(now))[0];
  assert.ok(s && Math.abs(s.x - steady.renderTick(now)) < 1e-6);
});

test("a jump in the server's tick timing is followed, not taken for jitter", () => {
  const tickMs = 1000 / 60;
  const buffer = new SnapshotBuffer(tickMs, 1000 / 30);
  for (let i = 0; i < 450; i++) {
    // A third of the way in, the server skips 30 ticks: later ticks arrive 500 ms "late" for their number.
    const tick = i * 2;
    const skew = i >= 150 ? 500 : 0;
    buffer.push(snapshot(tick, []), 1000 + tick * tickMs + 40 + skew);
  }
  assert.ok(buffer.jitter < 5, `jitter ${buffer.jitter}`);
  assert.ok(Math.abs(buffer.delay - 2 * (1000 / 30)) < 5, `delay ${buffer.delay}`);
});
