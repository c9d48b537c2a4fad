// The wire protocol (see protocol/README.md): message types, and MessagePack encoding and decoding with
// @msgpack/msgpack. Snapshots arrive as keyframes or deltas of arrays; SnapshotDecoder turns them into
// whole snapshots of named objects here, so no other module knows the wire shape.
import { decode, encode } from "@msgpack/msgpack";
import { POSITION_SCALE } from "./limits";

// The version and the position grid live with the other limits the server shares (checked against
// protocol/fixtures/limits.json); re-exported here because they describe the wire.
export { POSITION_SCALE, PROTOCOL_VERSION } from "./limits";
/** Aim travels as 1/4096 turns. */
export const AIM_STEPS = 4096;
export const FIRE = 1;

export type Vec2 = [number, number];

export interface TuningInfo {
  ship_radius: number;
  max_speed: number;
  acceleration: number;
  friction: number;
  max_health: number;
  fire_cooldown_ticks: number;
  projectile_speed: number;
  projectile_radius: number;
  projectile_lifetime_ticks: number;
  respawn_ticks: number;
  pickup_radius: number;
}

export interface MapInfo {
  name: string;
  size: Vec2;
  walls: [number, number, number, number][];
  pickups: Vec2[];
}

export interface PlayerInfo {
  id: number;
  name: string;
  /** Their connection dropped and their seat is held for them (absent: false). */
  away?: boolean;
}

export interface Welcome {
  t: "welcome";
  player_id: number;
  version: number;
  tick_rate: number;
  snapshot_rate: number;
  server_time: number;
  reconnect_token: string;
  resumed: boolean;
  tuning: TuningInfo;
  /** Send the inputs of this many ticks together: 1 = one `input` per tick, N = one `inputs` every N ticks. */
  input_batch: number;
}

export interface Joined {
  t: "joined";
  room: string;
  public: boolean;
  capacity: number;
  map: MapInfo;
  players: PlayerInfo[];
  /** Watching: no ship, no seat. */
  spectating?: boolean;
}

export interface Ship {
  id: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
  aim: number;
  health: number;
  /** 0 while alive; ticks until respawn while dead. */
  respawnTicks: number;
}

/** A projectile in flight: at (x, y) at `tick`, moving (vx, vy) units per second until `endTick`. */
export interface Projectile {
  id: number;
  owner: number;
  seq: number;
  tick: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
  /** The first tick it is no longer in flight (a wall, its lifetime, or a hit event). */
  endTick: number;
}

/** A ship on the wire: differences from the base's ship, one per set bit of `mask` (0 where clear). */
export interface ShipDelta {
  id: number;
  mask: number;
  /** By bit: x, y, ack, aim, vx, vy, health, respawn ticks. */
  values: number[];
}

/** A snapshot as it arrives: a keyframe (`base` 0) or a delta against the snapshot `base` ticks earlier. */
export interface SnapshotFrame {
  t: "snapshot";
  tick: number;
  base: number;
  ships: ShipDelta[];
  /** [id, owner, seq, x, y, vx, vy, ttl], positions at `tick`. */
  projectiles: number[][];
  pickups: number | undefined;
  match: { phase: Phase; endsTick: number } | undefined;
  scores: [number, number, number][];
}

export type Phase = "warmup" | "playing" | "results";

/** A room's whole state at one tick, rebuilt by SnapshotDecoder. */
export interface Snapshot {
  t: "snapshot";
  tick: number;
  /** Player id → last applied input seq. */
  acks: Map<number, number>;
  ships: Ship[];
  projectiles: Projectile[];
  /** Bit i set: the map's pickup i is available. */
  pickups: number;
  phase: Phase;
  endsTick: number;
  /** [id, kills, deaths]; empty when unchanged since the previous snapshot. */
  scores: [number, number, number][];
}

/** Whether pickup `i` is available in a snapshot's bit set. */
export function pickupUp(bits: number, i: number): boolean {
  return Math.floor(bits / 2 ** i) % 2 === 1;
}

export type GameEvent =
  | { e: "kill"; killer: number; victim: number }
  | { e: "hit"; shooter: number; target: number; damage: number; shot: number; tick: number }
  | { e: "phase"; phase: Phase; ends_tick: number }
  | { e: "join"; id: number; name: string }
  | { e: "leave"; id: number };

export interface Events {
  t: "events";
  tick: number;
  events: GameEvent[];
}

export interface Pong {
  t: "pong";
  client_time: number;
  server_time: number;
}

export interface ServerError {
  t: "error";
  code: string;
  message: string;
}

/** A match this client played in was recorded: its replay is `/replays/ID`, watched at `#replay/ID`. */
export interface ReplaySaved {
  t: "replay";
  id: string;
}

/** A line said in the room, or whispered (`to`). Its text is a player's: show it as text only. */
export interface ChatLine {
  t: "chat";
  from: number;
  name: string;
  text: string;
  to?: number | null;
  server_time: number;
}

/**
 * The room asked for is on another node of the cluster, which holds a seat (or a spectator's place) for
 * one `ticket`: close this socket, open one to `url` and say hello with the ticket and the same name.
 */
export interface Handoff {
  t: "handoff";
  /** The node's game WebSocket (ws:// or wss://, ending in /ws). */
  url: string;
  /** One-time, good for a few seconds (32 hex digits). */
  ticket: string;
  room: string;
  /** The node's id, for messages. */
  node: string;
}

/** An operators' announcement to every player. Its text is theirs: show it as text only. */
export interface Notice {
  t: "notice";
  text: string;
  server_time: number;
}

export type ServerMsg =
  | Welcome
  | Joined
  | { t: "left" }
  | SnapshotFrame
  | Events
  | Pong
  | ServerError
  | ReplaySaved
  | ChatLine
  | Handoff
  | Notice;

export interface Input {
  seq: number;
  movement: Vec2;
  aim: number;
  buttons: number;
  /** The server tick (fractional) this client was drawing other ships at when it sampled the input. */
  view_tick?: number;
}

export type ClientMsg =
  /** `ticket` only right after a hand-off (left out otherwise, as the server writes it). */
  | { t: "hello"; version: number; name: string; reconnect_token: string | null; ticket?: string }
  | { t: "quick_play" }
  | { t: "create_room" }
  | { t: "join_room"; code: string }
  | { t: "watch"; code: string }
  | ({ t: "input" } & Input)
  | { t: "inputs"; inputs: Input[] }
  | { t: "ping"; client_time: number }
  | { t: "leave" }
  | { t: "chat"; text: string; to?: number };

export class ProtocolError extends Error {}

export function encodeClient(msg: ClientMsg): Uint8Array {
  return encode(msg);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nums(v: unknown, len: number, what: string): number[] {
  if (!Array.isArray(v) || v.length !== len || v.some((x) => typeof x !== "number")) {
    throw new ProtocolError(`${what}: expected ${len} numbers`);
  }
  return v as number[];
}

function array(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new ProtocolError(`${what}: expected an array`);
  return v;
}

/** Decodes one server message, turning snapshot arrays into objects. Throws ProtocolError. */
export function decodeServer(bytes: Uint8Array | ArrayBuffer): ServerMsg {
  let raw: unknown;
  try {
    raw = decode(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes);
  } catch (err) {
    throw new ProtocolError(`not MessagePack: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(raw) || typeof raw.t !== "string") throw new ProtocolError("not a message map");
  if (raw.t === "snapshot") return decodeSnapshot(raw);
  switch (raw.t) {
    case "welcome":
    case "joined":
    case "left":
    case "events":
    case "pong":
    case "error":
      return raw as unknown as ServerMsg;
    case "replay":
      if (typeof raw.id !== "string") throw new ProtocolError("replay: expected an id");
      return raw as unknown as ServerMsg;
    case "handoff":
      // The socket the client opens next: only a WebSocket address, never a page's or a script's.
      if (typeof raw.url !== "string" || !/^wss?:\/\//i.test(raw.url) || typeof raw.ticket !== "string") {
        throw new ProtocolError("handoff: expected a ws(s):// url and a ticket");
      }
      if (typeof raw.room !== "string" || typeof raw.node !== "string") throw new ProtocolError("handoff: expected room and node");
      return raw as unknown as ServerMsg;
    case "notice":
      if (typeof raw.text !== "string") throw new ProtocolError("notice: expected a text");
      return raw as unknown as ServerMsg;
    case "chat":
      if (typeof raw.from !== "number" || typeof raw.name !== "string" || typeof raw.text !== "string") {
        throw new ProtocolError("chat: expected from, name and text");
      }
      return raw as unknown as ServerMsg;
    default:
      throw new ProtocolError(`unknown message type ${raw.t}`);
  }
}

function decodeSnapshot(raw: Record<string, unknown>): SnapshotFrame {
  if (typeof raw.tick !== "number" || typeof raw.base !== "number") throw new ProtocolError("snapshot: expected tick and base");
  const ships = array(raw.ships, "ships").map((s) => {
    const rec = array(s, "ship");
    const [id, mask] = rec;
    if (typeof id !== "number" || typeof mask !== "number" || mask < 0 || mask > 255) {
      throw new ProtocolError("ship: expected [id, mask, ...]");
    }
    const values: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
    let n = 2;
    for (let bit = 0; bit < 8; bit++) {
      if ((mask & (1 << bit)) === 0) continue;
      const v = rec[n++];
      if (typeof v !== "number") throw new ProtocolError(`ship ${id}: expected a value for bit ${bit}`);
      values[bit] = v;
    }
    if (n !== rec.length) throw new ProtocolError(`ship ${id}: ${rec.length - n} values beyond its mask`);
    return { id, mask, values };
  });
  // Empty lists are left out: no new projectiles, scores unchanged.
  const projectiles = array(raw.projectiles ?? [], "projectiles").map((p) => nums(p, 8, "projectile"));
  let match: SnapshotFrame["match"];
  if (raw.match !== undefined && raw.match !== null) {
    const m = raw.match;
    if (!isRecord(m) || typeof m.phase !== "string" || typeof m.ends_tick !== "number") {
      throw new ProtocolError("match: expected {phase, ends_tick}");
    }
    match = { phase: m.phase as Phase, endsTick: m.ends_tick };
  }
  const pickups = raw.pickups ?? undefined;
  if (pickups !== undefined && typeof pickups !== "number") throw new ProtocolError("pickups: expected a bit set");
  return {
    t: "snapshot",
    tick: raw.tick,
    base: raw.base,
    ships,
    projectiles,
    pickups,
    match,
    scores: array(raw.scores ?? [], "scores").map((s) => nums(s, 3, "score") as [number, number, number]),
  };
}

/**
 * How far velocity `v` (1/8 units per second) carries a ship in `ticks` (1/8 units), as the server moves it:
 * `v / tickRate` rounded half away from zero each tick, times `ticks`. Integers only, as in Rust.
 */
export function reckon(v: number, ticks: number, tickRate: number): number {
  const d = tickRate;
  const perTick = v >= 0 ? Math.floor((2 * v + d) / (2 * d)) : -Math.floor((-2 * v + d) / (2 * d));
  return perTick * ticks;
}

const I32 = 2 ** 31;
/** Field ranges by mask bit: x, y, ack, aim (wraps), vx, vy, health, respawn ticks. */
const RANGES: [number, number][] = [
  [-I32, I32 - 1], [-I32, I32 - 1], [0, 2 ** 32 - 1], [0, AIM_STEPS - 1], [-I32, I32 - 1], [-I32, I32 - 1], [0, 65535], [0, 65535],
];

/**
 * Rebuilds whole snapshots from keyframes and deltas (protocol/README.md, "snapshot"). Feed it every
 * snapshot and every events message of the room in arrival order; reset it on joined and left.
 * Projectile objects are carried from one snapshot to the next, so a hit ending one shows in the
 * snapshots already received too.
 */
export class SnapshotDecoder {
  private last: Snapshot | undefined;
  /** The last snapshot's ships as wire integers, by bit order (see RANGES), by id. */
  private raw = new Map<number, number[]>();

  constructor(private readonly tickRate: number) {}

  reset(): void {
    this.last = undefined;
    this.raw = new Map();
  }

  /** The snapshot `frame` describes. Throws ProtocolError when it does not fit (the client should reconnect). */
  apply(frame: SnapshotFrame): Snapshot {
    const last = this.last;
    const ticks = frame.base;
    if (ticks === 0) {
      if (frame.pickups === undefined || frame.match === undefined) throw new ProtocolError(`keyframe ${frame.tick} lacks pickups or match`);
    } else if (!last || frame.tick - ticks !== last.tick) {
      throw new ProtocolError(`delta for tick ${frame.tick} against ${frame.tick - ticks}, but the last snapshot is ${last?.tick}`);
    }
    const raw = new Map<number, number[]>();
    const acks = new Map<number, number>();
    const q = POSITION_SCALE;
    const ships: Ship[] = frame.ships.map((d) => {
      const b = (ticks > 0 && this.raw.get(d.id)) || [0, 0, 0, 0, 0, 0, 0, 0];
      const predicted = [
        b[0]! + reckon(b[4]!, ticks, this.tickRate),
        b[1]! + reckon(b[5]!, ticks, this.tickRate),
        b[2]! + ticks, // one input acknowledged per tick
        b[3]!, b[4]!, b[5]!, b[6]!,
        Math.max(b[7]! - ticks, 0),
      ];
      const v = predicted.map((p, i) => p + d.values[i]!);
      v[3] = ((v[3]! % AIM_STEPS) + AIM_STEPS) % AIM_STEPS;
      v.forEach((x, i) => {
        if (!Number.isInteger(x) || x < RANGES[i]![0] || x > RANGES[i]![1]) throw new ProtocolError(`ship ${d.id}: a value out of range`);
      });
      raw.set(d.id, v);
      const [x, y, ack, aim, vx, vy, health, respawnTicks] = v as [number, number, number, number, number, number, number, number];
      acks.set(d.id, ack);
      return { id: d.id, x: x / q, y: y / q, vx: vx / q, vy: vy / q, aim: (aim / AIM_STEPS) * 2 * Math.PI, health, respawnTicks };
    });
    const carried = ticks === 0 || !last ? [] : last.projectiles.filter((p) => frame.tick < p.endTick);
    const fresh = frame.projectiles.map(([id, owner, seq, x, y, vx, vy, ttl]) => ({
      id: id!, owner: owner!, seq: seq!, tick: frame.tick, x: x! / q, y: y! / q, vx: vx! / q, vy: vy! / q, endTick: frame.tick + ttl!,
    }));
    const projectiles = carried.filter((p) => !fresh.some((f) => f.id === p.id)).concat(fresh);
    const match = frame.match ?? { phase: last!.phase, endsTick: last!.endsTick };
    const snap: Snapshot = {
      t: "snapshot",
      tick: frame.tick,
      acks,
      ships,
      projectiles,
      pickups: frame.pickups ?? last!.pickups,
      phase: match.phase,
      endsTick: match.endsTick,
      scores: frame.scores,
    };
    this.last = snap;
    this.raw = raw;
    return snap;
  }

  /** What events say about projectiles: a hit ends the one it names at its own tick (at most `tick`, the events'); a phase change ends them all. */
  applyEvents(tick: number, events: GameEvent[]): void {
    const last = this.last;
    if (!last) return;
    for (const e of events) {
      if (e.e === "hit") {
        const p = last.projectiles.find((x) => x.id === e.shot);
        if (p) p.endTick = Math.min(p.endTick, tick, e.tick);
      } else if (e.e === "phase") {
        for (const p of last.projectiles) p.endTick = Math.min(p.endTick, tick);
        last.projectiles = [];
      }
    }
  }
}
