// The server's movement rules, mirrored for client-side prediction (server/src/sim/systems.rs
// `step_ship`, server/src/sim/geometry.rs). The numbers come from the server's `welcome`, so the two
// cannot drift apart; only float precision differs (f32 there, f64 here), which reconciliation absorbs.
import { type MapInfo, POSITION_SCALE, type TuningInfo, type Vec2 } from "./protocol";

export interface Body {
  x: number;
  y: number;
  vx: number;
  vy: number;
}

function moveTowards(vx: number, vy: number, tx: number, ty: number, d: number): [number, number] {
  const ax = tx - vx;
  const ay = ty - vy;
  const len = Math.hypot(ax, ay);
  if (len <= d || len <= 1e-4) return [tx, ty];
  return [vx + (ax / len) * d, vy + (ay / len) * d];
}

/** Pushes a circle out of an [x, y, w, h] rectangle; returns the normal it was pushed along, or null. */
function pushOut(b: Body, r: number, wall: readonly [number, number, number, number]): Vec2 | null {
  const [wx, wy, ww, wh] = wall;
  const cx = Math.min(Math.max(b.x, wx), wx + ww);
  const cy = Math.min(Math.max(b.y, wy), wy + wh);
  const ox = b.x - cx;
  const oy = b.y - cy;
  const d2 = ox * ox + oy * oy;
  if (d2 > 0) {
    if (d2 >= r * r) return null;
    const d = Math.sqrt(d2);
    const nx = ox / d;
    const ny = oy / d;
    b.x += nx * (r - d);
    b.y += ny * (r - d);
    return [nx, ny];
  }
  const exits: [number, number, number][] = [
    [b.x - wx, -1, 0],
    [wx + ww - b.x, 1, 0],
    [b.y - wy, 0, -1],
    [wy + wh - b.y, 0, 1],
  ];
  let best = exits[0]!;
  for (const e of exits) if (e[0] < best[0]) best = e;
  b.x += best[1] * (best[0] + r);
  b.y += best[2] * (best[0] + r);
  return [best[1], best[2]];
}

/** One ship's movement for one tick of `dt` seconds, in place. */
export function stepShip(b: Body, movement: Vec2, tuning: TuningInfo, map: MapInfo, dt: number): void {
  let [mx, my] = movement;
  const mlen = Math.hypot(mx, my);
  if (!Number.isFinite(mlen)) {
    mx = 0;
    my = 0;
  } else if (mlen > 1) {
    mx /= mlen;
    my /= mlen;
  }
  const still = mx === 0 && my === 0;
  const rate = still ? tuning.friction : tuning.acceleration;
  [b.vx, b.vy] = moveTowards(b.vx, b.vy, mx * tuning.max_speed, my * tuning.max_speed, rate * dt);
  const r = tuning.ship_radius;
  const travel = Math.hypot(b.vx, b.vy) * dt;
  const steps = Math.min(Math.max(Math.ceil(travel / (r * 0.25)), 1), 256);
  const stepDt = dt / steps;
  const [w, h] = map.size;
  for (let i = 0; i < steps; i++) {
    b.x += b.vx * stepDt;
    b.y += b.vy * stepDt;
    for (const wall of map.walls) {
      const n = pushOut(b, r, wall);
      if (n) {
        const into = b.vx * n[0] + b.vy * n[1];
        if (into < 0) {
          b.vx -= n[0] * into;
          b.vy -= n[1] * into;
        }
      }
    }
    const cx = Math.min(Math.max(b.x, r), w - r);
    const cy = Math.min(Math.max(b.y, r), h - r);
    if (cx !== b.x) b.vx = 0;
    if (cy !== b.y) b.vy = 0;
    b.x = cx;
    b.y = cy;
  }
  // The server keeps ship state on the wire's 1/8-unit grid; rounding the same way keeps prediction exact.
  b.x = onGrid(b.x);
  b.y = onGrid(b.y);
  b.vx = onGrid(b.vx);
  b.vy = onGrid(b.vy);
}

/** Rounds to the 1/8-unit grid, halves away from zero (as Rust's `f32::round`). */
export function onGrid(v: number): number {
  return (Math.sign(v) * Math.round(Math.abs(v) * POSITION_SCALE)) / POSITION_SCALE;
}

/** Whether a point is inside (or within `r` of) any wall or outside the arena. */
export function blocked(x: number, y: number, r: number, map: MapInfo): boolean {
  const [w, h] = map.size;
  if (x < r || y < r || x > w - r || y > h - r) return true;
  return map.walls.some(([wx, wy, ww, wh]) => x > wx - r && x < wx + ww + r && y > wy - r && y < wy + wh + r);
}
