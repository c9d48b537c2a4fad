// The client's movement rules (src/sim.ts) against the server's (server/src/sim/motion.rs): the golden
// vectors a Rust test writes to protocol/fixtures/motion.json, replayed here through the client's own
// code, bit for bit. No tolerance: the server's rule is f32 arithmetic and so is the client's, and any
// difference would show as a correction on screen.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { POSITION_SCALE } from "../src/limits";
import type { MapInfo, TuningInfo, Vec2 } from "../src/protocol";
import { type Body, flightTicks, MAX_FLIGHT_TICKS, onGrid, sanitizeAim, sanitizeMovement, stepShip } from "../src/sim";

interface ShipCase {
  name: string;
  map: string;
  tick_rate: number;
  /** x, y, vx, vy in eighths of a unit. */
  start: [number, number, number, number];
  /** Raw movement x, y per tick as the client sent it; null is NaN. */
  inputs: (number | null)[];
  /** x, y, vx, vy in eighths after each input. */
  states: number[];
}

interface ShotCase {
  map: string;
  tick_rate: number;
  from: Vec2;
  step: Vec2;
  max_ticks: number;
  ticks: number | null;
}

interface Vectors {
  tunings: Record<string, TuningInfo>;
  maps: Record<string, MapInfo>;
  ships: ShipCase[];
  shots: ShotCase[];
}

const path = join(process.cwd(), "..", "protocol", "fixtures", "motion.json");
const vectors = JSON.parse(readFileSync(path, "utf8")) as Vectors;
const MAPS = ["crossroads", "pillars"];
const TICK_RATES = [1, 60, 240];

function tuning(tickRate: number): TuningInfo {
  const t = vectors.tunings[String(tickRate)];
  assert.ok(t, `no tuning for ${tickRate} Hz`);
  return t;
}

function map(name: string): MapInfo {
  const m = vectors.maps[name];
  assert.ok(m, `no map ${name}`);
  return m;
}

/** A value in eighths, as the Rust test writes it (`as i64`; states are on the grid, so exact). */
function eighths(v: number): number {
  return Math.trunc(v * POSITION_SCALE) + 0; // + 0 turns -0 into 0
}

test("the golden vectors cover both maps at 1, 60 and 240 Hz", () => {
  for (const m of MAPS) assert.ok(vectors.maps[m], `map ${m}`);
  for (const rate of TICK_RATES) assert.ok(vectors.tunings[String(rate)], `tuning at ${rate} Hz`);
  for (const m of MAPS) {
    for (const rate of TICK_RATES) {
      const ships = vectors.ships.filter((c) => c.map === m && c.tick_rate === rate);
      assert.equal(ships.length, 1, `one ship case for ${m} at ${rate} Hz`);
      const shots = vectors.shots.filter((c) => c.map === m && c.tick_rate === rate);
      assert.ok(shots.length >= 8, `shot cases for ${m} at ${rate} Hz: ${shots.length}`);
      assert.ok(shots.some((c) => c.ticks !== null && c.ticks > 0), `some shots of ${m} at ${rate} Hz fly a while`);
    }
  }
  for (const c of vectors.ships) {
    assert.ok(c.inputs.length > 0, `${c.name} has inputs`);
    assert.equal(c.states.length, 2 * c.inputs.length, `${c.name}: four state numbers per two input numbers`);
  }
});

for (const c of vectors.ships) {
  test(`ship: ${c.name} replays exactly`, () => {
    const t = tuning(c.tick_rate);
    const m = map(c.map);
    const dt = Math.fround(1 / c.tick_rate);
    const [x, y, vx, vy] = c.start.map((v) => v / POSITION_SCALE) as [number, number, number, number];
    const b: Body = { x, y, vx, vy };
    const ticks = c.inputs.length / 2;
    for (let i = 0; i < ticks; i++) {
      const movement: Vec2 = [c.inputs[2 * i] ?? NaN, c.inputs[2 * i + 1] ?? NaN];
      stepShip(b, movement, t, m, dt);
      const got = [b.x, b.y, b.vx, b.vy].map(eighths);
      const want = c.states.slice(4 * i, 4 * i + 4);
      for (let k = 0; k < 4; k++) {
        if (got[k] !== want[k]) {
          const field = ["x", "y", "vx", "vy"][k];
          assert.equal(got[k], want[k], `${c.name}, tick ${i} (input ${movement}): ${field} in eighths; got ${got}, want ${want}`);
        }
      }
    }
  });
}

test("shots: every flight lasts as many ticks as the server's", () => {
  assert.ok(vectors.shots.length > 0);
  for (const [i, c] of vectors.shots.entries()) {
    const ticks = flightTicks(c.from, c.step, map(c.map), tuning(c.tick_rate).projectile_radius, c.max_ticks);
    assert.equal(ticks, c.ticks, `shot ${i} (${c.map} at ${c.tick_rate} Hz from ${c.from} by ${c.step})`);
  }
});

test("sanitising and grid rounding follow the Rust rule", () => {
  assert.deepEqual(sanitizeMovement([NaN, 1]), [0, 0]);
  assert.deepEqual(sanitizeMovement([Infinity, 0]), [0, 0]);
  assert.deepEqual(sanitizeMovement([3, 4]), [Math.fround(0.6), Math.fround(0.8)]);
  assert.deepEqual(sanitizeMovement([0.5, -0.5]), [0.5, -0.5]);
  // Beyond f32's range the server reads infinity; within it, |v|² may still overflow to infinity, and
  // v / |v| is then zero (as in Rust).
  assert.deepEqual(sanitizeMovement([1e300, 0]), [0, 0]);
  assert.deepEqual(sanitizeMovement([1e30, 0]), [0, 0]);
  // Halves away from zero on the 1/8 grid.
  assert.equal(onGrid(0.0625), 0.125);
  assert.equal(onGrid(-0.0625), -0.125);
  assert.equal(onGrid(0.05), 0);
  assert.equal(onGrid(100.1875), 100.25);
  assert.equal(sanitizeAim(-Math.PI / 2), Math.fround(Math.fround(-Math.PI / 2) + Math.fround(2 * Math.PI)));
  assert.equal(sanitizeAim(NaN), 0);
});

test("a flight nothing stops within its limit has no end", () => {
  const m: MapInfo = { name: "open", size: [1e6, 1e6], walls: [], pickups: [] };
  assert.equal(flightTicks([500, 500], [1, 0], m, 5, 10), null);
  assert.equal(flightTicks([500, 500], [0, 0], m, 5, MAX_FLIGHT_TICKS + 10), null, "capped at MAX_FLIGHT_TICKS");
  assert.equal(flightTicks([500, 500], [-200, 0], m, 5, 10), 2, "the edge at x = 5 stops the third step");
});
