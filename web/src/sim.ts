// The server's movement rules, for client-side prediction: a ship's step under its input, and a shot's
// flight until a wall stops it. Rust twin: server/src/sim/motion.rs (and `Rect` in
// server/src/sim/geometry.rs); test/motion.test.ts holds the two together by replaying the golden vectors
// the Rust tests write (protocol/fixtures/motion.json) and demanding the same bits.
//
// The Rust rule is IEEE-754 single precision, one rounding per operation, no fused multiply-add. Every
// arithmetic operation here is therefore wrapped in `f` (Math.fround): the f64 result of +, -, *, / or
// sqrt on two f32 values, rounded to f32, is exactly the f32 result (f64 has more than twice f32's
// precision, so the double rounding never differs). Comparisons and min/max need no rounding. The tuning
// and map numbers come from the server's welcome and joined messages and are already f32 values.
import { POSITION_SCALE } from "./limits";
import type { MapInfo, TuningInfo, Vec2 } from "./protocol";

export interface Body {
  x: number;
  y: number;
  vx: number;
  vy: number;
}

/** Rounds to f32: applied after every arithmetic operation (see the header). */
const f = Math.fround;

/** Rust's `f32::EPSILON` (2^-23), used by the swept wall test. */
const F32_EPSILON = 2 ** -23;
/** glam's `move_towards` cut-off, the f32 literal `1e-4` (not the f64 one). */
const MOVE_TOWARDS_EPSILON = f(1e-4);
/** Rust's `std::f32::consts::TAU`. */
const TAU = f(2 * Math.PI);
/** The longest flight `flightTicks` traces (Rust `MAX_FLIGHT_TICKS`). */
export const MAX_FLIGHT_TICKS = 2 ** 16;

// glam's component-wise min and max: `if a < b { a } else { b }` (they differ from Math.min/Math.max
// only for NaN and signed zeros, which do not arise here, but matching them costs nothing).
const min = (a: number, b: number): number => (a < b ? a : b);
const max = (a: number, b: number): number => (a > b ? a : b);
/** glam's `clamp`: max, then min. */
const clamp = (v: number, lo: number, hi: number): number => min(max(v, lo), hi);
/** glam's `length`: sqrt(x*x + y*y), each operation in f32. */
const length = (x: number, y: number): number => f(Math.sqrt(f(f(x * x) + f(y * y))));

/** An axis-aligned rectangle as the server builds a wall: min = (x, y), max = (x + w, y + h) in f32. */
interface Rect {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

function rect([x, y, w, h]: readonly [number, number, number, number]): Rect {
  return { minX: f(x), minY: f(y), maxX: f(x + w), maxY: f(y + h) };
}

/** The map's walls as rectangles (cached per map object: walls never change). */
const wallCache = new WeakMap<MapInfo, Rect[]>();
function walls(map: MapInfo): Rect[] {
  let rects = wallCache.get(map);
  if (!rects) {
    rects = map.walls.map(rect);
    wallCache.set(map, rects);
  }
  return rects;
}

/**
 * A client's movement input made safe, as the server does (`sanitize_movement`): the components taken
 * as f32 (the server reads them into f32), non-finite values give zero, and the length is capped at 1.
 */
export function sanitizeMovement(movement: Vec2): Vec2 {
  const x = f(movement[0]);
  const y = f(movement[1]);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return [0, 0];
  // glam `clamp_length_max(1.0)`: 1 * (v / |v|) when |v|² > 1; the `1 *` changes nothing.
  const lengthSq = f(f(x * x) + f(y * y));
  if (lengthSq > 1) {
    const len = f(Math.sqrt(lengthSq));
    return [f(x / len), f(y / len)];
  }
  return [x, y];
}

/** A client's aim made safe, as the server does (`sanitize_aim`): radians in [0, 2π) in f32. */
export function sanitizeAim(aim: number): number {
  const a = f(aim);
  if (!Number.isFinite(a)) return 0;
  // Rust `rem_euclid`: `%` is exact (as C's fmod), then one f32 addition for negative remainders.
  const r = a % TAU;
  return r < 0 ? f(r + TAU) : r;
}

/** glam `move_towards`: `rhs` when within `d` (or 1e-4), else `self + (rhs - self) / len * d`. */
function moveTowards(vx: number, vy: number, tx: number, ty: number, d: number): Vec2 {
  const ax = f(tx - vx);
  const ay = f(ty - vy);
  const len = length(ax, ay);
  if (len <= d || len <= MOVE_TOWARDS_EPSILON) return [tx, ty];
  return [f(vx + f(f(ax / len) * d)), f(vy + f(f(ay / len) * d))];
}

/**
 * Pushes a circle of radius `r` at (b.x, b.y) out of `wall`, in place (`push_circle_out_of_rect`);
 * returns the normal it was pushed along, or null when they do not overlap.
 */
function pushOut(b: Body, r: number, wall: Rect): Vec2 | null {
  const ox = f(b.x - clamp(b.x, wall.minX, wall.maxX));
  const oy = f(b.y - clamp(b.y, wall.minY, wall.maxY));
  const distSq = f(f(ox * ox) + f(oy * oy));
  if (distSq > 0) {
    if (distSq >= f(r * r)) return null;
    const dist = f(Math.sqrt(distSq));
    const nx = f(ox / dist);
    const ny = f(oy / dist);
    const depth = f(r - dist);
    b.x = f(b.x + f(nx * depth));
    b.y = f(b.y + f(ny * depth));
    return [nx, ny];
  }
  // The centre is inside the rectangle: leave by the nearest side (the first of equals, as Rust's fold).
  const exits: [number, number, number][] = [
    [f(b.x - wall.minX), -1, 0],
    [f(wall.maxX - b.x), 1, 0],
    [f(b.y - wall.minY), 0, -1],
    [f(wall.maxY - b.y), 0, 1],
  ];
  let best: [number, number, number] = [Infinity, 0, 0];
  for (const e of exits) if (e[0] < best[0]) best = e;
  const [depth, nx, ny] = best;
  const push = f(depth + r);
  b.x = f(b.x + f(nx * push));
  b.y = f(b.y + f(ny * push));
  return [nx, ny];
}

/**
 * One ship's movement for one tick of `dt` seconds, in place (`step_ship`). `movement` is the input as
 * the client sends it: it is sanitised here (`sanitizeMovement`), as the server does on receipt, so pass
 * raw input exactly once. `dt` is taken as f32 (pass 1 / tick rate).
 */
export function stepShip(b: Body, movement: Vec2, tuning: TuningInfo, map: MapInfo, dt: number): void {
  const [mx, my] = sanitizeMovement(movement);
  const dt32 = f(dt);
  const still = mx === 0 && my === 0;
  const rate = still ? tuning.friction : tuning.acceleration;
  let vx: number;
  let vy: number;
  [vx, vy] = moveTowards(b.vx, b.vy, f(mx * tuning.max_speed), f(my * tuning.max_speed), f(rate * dt32));
  const r = tuning.ship_radius;
  // Sub-steps no longer than a quarter radius, so no speed at any tick rate carries a ship through a wall.
  const travel = f(length(vx, vy) * dt32);
  const steps = clamp(Math.ceil(f(travel / f(r * 0.25))), 1, 256);
  const stepDt = f(dt32 / steps);
  const rects = walls(map);
  const hiX = f(map.size[0] - r);
  const hiY = f(map.size[1] - r);
  const p: Body = { x: b.x, y: b.y, vx: 0, vy: 0 };
  for (let i = 0; i < steps; i++) {
    p.x = f(p.x + f(vx * stepDt));
    p.y = f(p.y + f(vy * stepDt));
    for (const wall of rects) {
      const n = pushOut(p, r, wall);
      if (n) {
        // Lose the velocity into the wall, keep the slide along it.
        const into = f(f(vx * n[0]) + f(vy * n[1]));
        if (into < 0) {
          vx = f(vx - f(n[0] * into));
          vy = f(vy - f(n[1] * into));
        }
      }
    }
    // The arena's edge stops the ship along the axis it crossed.
    const cx = clamp(p.x, r, hiX);
    const cy = clamp(p.y, r, hiY);
    if (cx !== p.x) vx = 0;
    if (cy !== p.y) vy = 0;
    p.x = cx;
    p.y = cy;
  }
  // The server keeps ship state on the wire's 1/8-unit grid; rounding the same way keeps prediction exact.
  b.x = onGrid(p.x);
  b.y = onGrid(p.y);
  b.vx = onGrid(vx);
  b.vy = onGrid(vy);
}

/** Rounds to the wire's 1/8-unit grid in f32, halves away from zero (Rust `f32::round`), as `on_grid`. */
export function onGrid(v: number): number {
  const scaled = f(v * POSITION_SCALE);
  // Math.round rounds halves up; on the magnitude that is away from zero. Keeps the sign of -0.
  const rounded = Math.sign(scaled) * Math.round(Math.abs(scaled));
  return f(rounded / POSITION_SCALE);
}

/**
 * The first time t in [0, 1] at which the segment from → to enters `wall` grown by `radius` on every
 * side, or null (`segment_hits_rect`). A segment that starts inside hits at t = 0.
 */
function segmentHitsRect(fromX: number, fromY: number, toX: number, toY: number, wall: Rect, radius: number): number | null {
  const axes: [number, number, number, number][] = [
    [fromX, f(toX - fromX), f(wall.minX - radius), f(wall.maxX + radius)],
    [fromY, f(toY - fromY), f(wall.minY - radius), f(wall.maxY + radius)],
  ];
  let tEnter = 0;
  let tExit = 1;
  for (const [o, dir, lo, hi] of axes) {
    if (Math.abs(dir) < F32_EPSILON) {
      // Parallel to this axis' sides: a miss unless already between them.
      if (o < lo || o > hi) return null;
    } else {
      let t0 = f(f(lo - o) / dir);
      let t1 = f(f(hi - o) / dir);
      if (t0 > t1) [t0, t1] = [t1, t0];
      tEnter = Math.max(tEnter, t0);
      tExit = Math.min(tExit, t1);
      if (tEnter > tExit) return null;
    }
  }
  return tEnter;
}

/** When the segment from inside `arena` to outside it leaves it, 0 to 1 (`exit_time`). */
function exitTime(fromX: number, fromY: number, toX: number, toY: number, arena: Rect): number {
  const axes: [number, number, number, number][] = [
    [fromX, f(toX - fromX), arena.minX, arena.maxX],
    [fromY, f(toY - fromY), arena.minY, arena.maxY],
  ];
  let t = 1;
  for (const [o, d, lo, hi] of axes) {
    if (d > 0) t = Math.min(t, f(f(hi - o) / d));
    else if (d < 0) t = Math.min(t, f(f(lo - o) / d));
  }
  return Math.min(Math.max(t, 0), 1);
}

/**
 * Where along from → to a projectile of radius `pr` first meets a wall or the arena's edge (0 to 1), or
 * null (`blocked_at`). The edge counts once the end point is outside the arena shrunk by `pr`.
 */
function blockedAt(fromX: number, fromY: number, toX: number, toY: number, map: MapInfo, pr: number): number | null {
  const arena: Rect = { minX: pr, minY: pr, maxX: f(map.size[0] - pr), maxY: f(map.size[1] - pr) };
  // `Rect::distance(to) > 0`, computed as the server does (not as a plain inside test).
  const outside = length(f(clamp(toX, arena.minX, arena.maxX) - toX), f(clamp(toY, arena.minY, arena.maxY) - toY)) > 0;
  let first = outside ? exitTime(fromX, fromY, toX, toY, arena) : null;
  for (const wall of walls(map)) {
    const t = segmentHitsRect(fromX, fromY, toX, toY, wall, pr);
    if (t !== null && (first === null || t < first)) first = t;
  }
  return first;
}

/**
 * How many ticks a projectile starting at `from` and moving `step` per tick flies before a wall or the
 * arena's edge stops it (`flight_ticks`); null when nothing stops it within `maxTicks` (or
 * MAX_FLIGHT_TICKS). The server ends a shot's flight by this count, so a client that uses it ends its
 * predicted shots on the same tick.
 */
export function flightTicks(from: Vec2, step: Vec2, map: MapInfo, projectileRadius: number, maxTicks: number): number | null {
  let x = f(from[0]);
  let y = f(from[1]);
  const sx = f(step[0]);
  const sy = f(step[1]);
  const limit = Math.min(maxTicks, MAX_FLIGHT_TICKS);
  for (let tick = 0; tick < limit; tick++) {
    const toX = f(x + sx);
    const toY = f(y + sy);
    if (blockedAt(x, y, toX, toY, map, projectileRadius) !== null) return tick;
    x = toX;
    y = toY;
  }
  return null;
}

/**
 * A shot's movement per tick as the server fires it (`fire_weapons`): the direction of the sanitised
 * aim, times the projectile speed, times `dt`, in f32. The direction's sine and cosine are the one part
 * not reproduced bit for bit: JavaScript computes them in f64 (rounded here to f32), the server with its
 * platform's `sinf`/`cosf`, which may differ in the last bit.
 */
export function shotStep(aim: number, tuning: TuningInfo, dt: number): Vec2 {
  const a = sanitizeAim(aim);
  const dt32 = f(dt);
  const speed = tuning.projectile_speed;
  return [f(f(f(Math.cos(a)) * speed) * dt32), f(f(f(Math.sin(a)) * speed) * dt32)];
}
