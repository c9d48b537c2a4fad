// Client-side prediction of the player's own ship: every input is applied locally at once with the
// server's movement rules, kept until the server acknowledges it, and replayed on top of each snapshot's
// authoritative state (reconciliation). The difference between what was shown and the reconciled state
// is not snapped to but blended away over a short time (smoothing), unless it is large (a respawn).
import type { Input, MapInfo, Ship, TuningInfo } from "./protocol";
import { type Body, stepShip } from "./sim";

/** Corrections longer than this (arena units) are snapped, not smoothed: a teleport, not an error. */
export const SNAP_DISTANCE = 120;
/** How fast a visual correction decays, per second (e-folding rate). */
export const SMOOTHING_RATE = 12;
/** Unacknowledged inputs kept at most (a few seconds at 60 Hz); older ones are dropped. */
export const MAX_PENDING = 240;

export class Predictor {
  /** The predicted state after every input sent so far. */
  readonly body: Body = { x: 0, y: 0, vx: 0, vy: 0 };
  /** The state one input earlier, to interpolate rendering between ticks. */
  readonly previous: Body = { x: 0, y: 0, vx: 0, vy: 0 };
  private pending: Input[] = [];
  /** Visual offset still being blended away. */
  offsetX = 0;
  offsetY = 0;
  /** Every reconciliation's correction size (arena units), for diagnostics. */
  readonly corrections: number[] = [];
  active = false;

  constructor(
    private readonly tuning: TuningInfo,
    private readonly map: MapInfo,
    private readonly dt: number,
  ) {}

  /** Applies one input locally (and remembers it until acknowledged). */
  apply(input: Input): void {
    Object.assign(this.previous, this.body);
    if (this.active) stepShip(this.body, input.movement, this.tuning, this.map, this.dt);
    this.pending.push(input);
    if (this.pending.length > MAX_PENDING) this.pending.shift();
  }

  /** Reconciles with the server: its state of our ship after input `ack`. */
  reconcile(server: Ship | undefined, ack: number): void {
    this.pending = this.pending.filter((i) => i.seq > ack);
    if (!server || server.respawnTicks > 0) {
      this.active = false;
      return;
    }
    const before = { x: this.body.x, y: this.body.y };
    const b: Body = { x: server.x, y: server.y, vx: server.vx, vy: server.vy };
    for (const input of this.pending) stepShip(b, input.movement, this.tuning, this.map, this.dt);
    const ex = before.x - b.x;
    const ey = before.y - b.y;
    const error = Math.hypot(ex, ey);
    if (!this.active || error > SNAP_DISTANCE) {
      this.offsetX = 0;
      this.offsetY = 0;
      Object.assign(this.previous, b);
    } else {
      this.corrections.push(error);
      if (this.corrections.length > 10000) this.corrections.shift();
      this.offsetX += ex;
      this.offsetY += ey;
      this.previous.x -= ex;
      this.previous.y -= ey;
    }
    Object.assign(this.body, b);
    this.active = true;
  }

  /** Decays the visual offset by `dt` seconds of wall time. */
  decay(dt: number): void {
    const k = Math.exp(-SMOOTHING_RATE * dt);
    this.offsetX *= k;
    this.offsetY *= k;
  }

  /** Where to draw the ship: between the last two predicted ticks (`alpha` 0..1), plus the offset. */
  renderPosition(alpha: number): { x: number; y: number } {
    return {
      x: this.previous.x + (this.body.x - this.previous.x) * alpha + this.offsetX,
      y: this.previous.y + (this.body.y - this.previous.y) * alpha + this.offsetY,
    };
  }

  get pendingCount(): number {
    return this.pending.length;
  }
}
