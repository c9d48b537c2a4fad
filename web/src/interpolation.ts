// Snapshot interpolation for everything the player does not control: remote ships are drawn where the
// server had them a little in the past (the render delay), between the two snapshots around that time.
// The delay is about two snapshot intervals plus the measured arrival jitter; when snapshots are late
// the last motion is extrapolated for at most MAX_EXTRAPOLATION_MS, then the ship holds still.
import type { Projectile, Ship, Snapshot } from "./protocol";

export const MAX_EXTRAPOLATION_MS = 100;
/** Snapshots over which the clock offset is the minimum (2 s at 30 Hz). */
export const OFFSET_WINDOW = 60;
/** Snapshots kept (10 s at 30 Hz): enough to interpolate, and to measure interpolation error after the fact. */
export const HISTORY = 300;

export interface Timed {
  snap: Snapshot;
  /** Local receive time, ms. */
  at: number;
}

export class SnapshotBuffer {
  readonly history: Timed[] = [];
  /** Estimated local time of server tick 0, ms: the lowest recent (receive time − tick time). */
  private offset = Number.NaN;
  /** Recent (receive time − tick time) values; their minimum is the least-delayed arrival. */
  private readonly candidates: number[] = [];
  /** Smoothed arrival jitter, ms. */
  jitter = 0;
  /** Current render delay, ms. */
  delay: number;

  constructor(
    readonly tickMs: number,
    readonly snapshotMs: number,
  ) {
    this.delay = 2 * snapshotMs;
  }

  push(snap: Snapshot, at: number): void {
    const last = this.history[this.history.length - 1];
    if (last && snap.tick <= last.snap.tick) return; // stale or duplicate
    this.history.push({ snap, at });
    if (this.history.length > HISTORY) this.history.shift();
    const candidate = at - snap.tick * this.tickMs;
    // A window, not an all-time minimum: after a clock drift, a route change or a server that skipped
    // ticks, the estimate follows within OFFSET_WINDOW snapshots instead of reading it as jitter forever.
    this.candidates.push(candidate);
    if (this.candidates.length > OFFSET_WINDOW) this.candidates.shift();
    this.offset = Math.min(...this.candidates);
    const lateness = candidate - this.offset;
    this.jitter += (lateness - this.jitter) * 0.1;
    const target = 2 * this.snapshotMs + 2 * this.jitter;
    this.delay += (target - this.delay) * 0.05;
  }

  get latest(): Snapshot | undefined {
    return this.history[this.history.length - 1]?.snap;
  }

  /** The server tick (fractional) to render at local time `now`. */
  renderTick(now: number): number {
    return (now - this.offset - this.delay) / this.tickMs;
  }

  /** The two snapshots around `tick` (or the last one, with `after` undefined, when past the newest). */
  bracket(tick: number): { before: Snapshot; after: Snapshot | undefined } | undefined {
    const h = this.history;
    if (h.length === 0) return undefined;
    for (let i = h.length - 1; i >= 0; i--) {
      const s = h[i]!.snap;
      if (s.tick <= tick) return { before: s, after: h[i + 1]?.snap };
    }
    return { before: h[0]!.snap, after: h[1]?.snap };
  }

  /** Remote ships at `tick`, interpolated (or briefly extrapolated). */
  ships(tick: number): Ship[] {
    const pair = this.bracket(tick);
    if (!pair) return [];
    return pair.before.ships.map((a) => interpolateShip(a, pair.before.tick, pair.after, tick, this.tickMs));
  }

  /**
   * Projectiles at `tick`: each flies in a straight line from where a snapshot announced it until its end
   * tick (a wall, its lifetime or a hit), so it is drawn exactly where the server had it.
   */
  projectiles(tick: number): Projectile[] {
    return projectilesAt(this.history.length, (i) => this.history[i]!.snap, tick, this.tickMs);
  }
}

/**
 * The projectiles in flight at `tick`, from the `count` snapshots `snapshot(0..count)` (oldest first):
 * each as the newest of them up to the first at or before `tick` announced it, flown on in a straight
 * line to `tick`, and gone from its end tick (a wall, its lifetime or a hit). Live play and replays
 * draw shots by this.
 */
export function projectilesAt(
  count: number,
  snapshot: (i: number) => Snapshot,
  tick: number,
  tickMs: number,
): Projectile[] {
  const seen = new Map<number, Projectile>();
  for (let i = count - 1; i >= 0; i--) {
    const s = snapshot(i);
    for (const p of s.projectiles) if (!seen.has(p.id)) seen.set(p.id, p);
    if (s.tick <= tick) break;
  }
  const out: Projectile[] = [];
  for (const p of seen.values()) {
    if (tick < p.tick || tick >= p.endTick) continue;
    const dt = ((tick - p.tick) * tickMs) / 1000;
    out.push({ ...p, x: p.x + p.vx * dt, y: p.y + p.vy * dt });
  }
  return out;
}

export function interpolateShip(
  a: Ship,
  aTick: number,
  next: Snapshot | undefined,
  tick: number,
  tickMs: number,
): Ship {
  const b = next?.ships.find((s) => s.id === a.id);
  if (next && b && b.respawnTicks === 0 && a.respawnTicks === 0) {
    const t = Math.min(Math.max((tick - aTick) / (next.tick - aTick), 0), 1);
    return {
      ...b,
      x: a.x + (b.x - a.x) * t,
      y: a.y + (b.y - a.y) * t,
      aim: lerpAngle(a.aim, b.aim, t),
      health: t < 1 ? a.health : b.health,
    };
  }
  if (a.respawnTicks > 0 || (next && !b)) return a;
  // Past the newest snapshot: extrapolate a little along the last velocity.
  const ms = Math.min(Math.max((tick - aTick) * tickMs, 0), MAX_EXTRAPOLATION_MS);
  return { ...a, x: a.x + (a.vx * ms) / 1000, y: a.y + (a.vy * ms) / 1000 };
}

export function lerpAngle(a: number, b: number, t: number): number {
  let d = b - a;
  while (d > Math.PI) d -= 2 * Math.PI;
  while (d < -Math.PI) d += 2 * Math.PI;
  return a + d * t;
}
