// A replay as a timeline the viewer can seek in: every recorded snapshot decoded (with the live
// client's SnapshotDecoder) into the room's whole state at its tick, the scores carried forward to
// every frame (snapshots leave unchanged scores out), who is who, and where the kills are.
import { interpolateShip, projectilesAt } from "./interpolation";
import { decodeServer, type GameEvent, type Projectile, type Ship, type Snapshot, SnapshotDecoder } from "./protocol";
import type { Replay, ReplayHeader } from "./replay";
import { ReplayError } from "./replay";

export interface Frame {
  tick: number;
  snapshot: Snapshot;
  /** [id, kills, deaths] of everyone in the room at this tick. */
  scores: [number, number, number][];
  /** The events sent with this snapshot. */
  events: GameEvent[];
}

export interface KillMarker {
  tick: number;
  killer: number;
  victim: number;
}

export interface Timeline {
  header: ReplayHeader;
  frames: Frame[];
  kills: KillMarker[];
  /** Player id → name, for everyone who was in the match. */
  names: Map<number, string>;
  firstTick: number;
  lastTick: number;
  /** Whether the file had its end (else it was cut off). */
  complete: boolean;
}

/** Decodes every frame of `replay`. Throws ReplayError when its messages do not fit together. */
export function buildTimeline(replay: Replay): Timeline {
  const { header } = replay;
  const decoder = new SnapshotDecoder(header.tick_rate);
  const names = new Map(header.players.map((p) => [p.id, p.name] as const));
  const scores = new Map<number, [number, number, number]>();
  const frames: Frame[] = [];
  const kills: KillMarker[] = [];
  let pending: GameEvent[] = [];
  for (const record of replay.records) {
    if (record.kind !== "snapshot" && record.kind !== "events") continue;
    let msg;
    try {
      msg = decodeServer(record.bytes);
    } catch (err) {
      throw new ReplayError(`the replay's message at tick ${record.tick} does not decode (${String(err)})`);
    }
    if (record.kind === "events") {
      if (msg.t !== "events") throw new ReplayError(`the events record of tick ${record.tick} holds a ${msg.t}`);
      pending = msg.events;
      for (const e of pending) {
        if (e.e === "join") names.set(e.id, e.name);
        if (e.e === "kill") kills.push({ tick: record.tick, killer: e.killer, victim: e.victim });
      }
      continue;
    }
    if (msg.t !== "snapshot") throw new ReplayError(`the snapshot record of tick ${record.tick} holds a ${msg.t}`);
    let snapshot: Snapshot;
    try {
      snapshot = decoder.apply(msg);
    } catch (err) {
      throw new ReplayError(`the replay's snapshots do not follow one another at tick ${record.tick} (${String(err)})`);
    }
    decoder.applyEvents(record.tick, pending);
    if (snapshot.scores.length > 0) {
      scores.clear();
      for (const row of snapshot.scores) scores.set(row[0], row);
    }
    for (const e of pending) if (e.e === "leave") scores.delete(e.id);
    frames.push({ tick: record.tick, snapshot, scores: [...scores.values()], events: pending });
    pending = [];
  }
  const first = frames[0];
  const last = frames.at(-1);
  if (!first || !last) throw new ReplayError("the replay holds no snapshot");
  return {
    header,
    frames,
    kills,
    names,
    firstTick: first.tick,
    lastTick: replay.end?.tick ?? last.tick,
    complete: replay.end !== null,
  };
}

/** The index of the last frame at or before `tick` (the first frame before it starts). */
export function frameAt(timeline: Timeline, tick: number): number {
  const { frames } = timeline;
  let lo = 0;
  let hi = frames.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (frames[mid]!.tick <= tick) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Seconds from the replay's first frame to `tick`. */
export function secondsAt(timeline: Timeline, tick: number): number {
  return (tick - timeline.firstTick) / timeline.header.tick_rate;
}

/** The tick `seconds` after the first frame, within the replay. */
export function tickAt(timeline: Timeline, seconds: number): number {
  const tick = timeline.firstTick + seconds * timeline.header.tick_rate;
  return Math.min(Math.max(tick, timeline.firstTick), timeline.lastTick);
}

/** What the room looked like at a (fractional) tick: drawn as live play draws the other ships. */
export interface View {
  /** The frame at or before the tick: its phase, scores, pickups and clock stand. */
  frame: Frame;
  /** Every ship, interpolated between the frames around the tick (dead ones as they lie). */
  ships: Ship[];
  /** The projectiles in flight at the tick. */
  projectiles: Projectile[];
}

/** The room at `tick`, between the frames around it, with live play's interpolation rules. */
export function viewAt(timeline: Timeline, tick: number): View {
  const { frames } = timeline;
  const i = frameAt(timeline, tick);
  const frame = frames[i]!;
  const next = frames[i + 1]?.snapshot;
  const tickMs = 1000 / timeline.header.tick_rate;
  return {
    frame,
    ships: frame.snapshot.ships.map((a) => interpolateShip(a, frame.tick, next, tick, tickMs)),
    projectiles: projectilesAt(Math.min(i + 2, frames.length), (k) => frames[k]!.snapshot, tick, tickMs),
  };
}
