// The wire protocol (see protocol/README.md): message types, and MessagePack encoding and decoding with
// @msgpack/msgpack. Snapshot records arrive as arrays and are turned into named objects here, so no
// other module knows the wire shape.
import { decode, encode } from "@msgpack/msgpack";

export const PROTOCOL_VERSION = 4;
/** Positions and velocities travel as integers in 1/8 units (see protocol/README.md). */
export const POSITION_SCALE = 8;
/** Aim travels as 1/65536 turns. */
export const AIM_STEPS = 65536;
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
}

export interface Joined {
  t: "joined";
  room: string;
  public: boolean;
  capacity: number;
  map: MapInfo;
  players: PlayerInfo[];
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

export interface Projectile {
  id: number;
  owner: number;
  seq: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
}

export type Phase = "warmup" | "playing" | "results";

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
  | { e: "hit"; shooter: number; target: number; damage: number }
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

export type ServerMsg = Welcome | Joined | { t: "left" } | Snapshot | Events | Pong | ServerError;

export interface Input {
  seq: number;
  movement: Vec2;
  aim: number;
  buttons: number;
}

export type ClientMsg =
  | { t: "hello"; version: number; name: string; reconnect_token: string | null }
  | { t: "quick_play" }
  | { t: "create_room" }
  | { t: "join_room"; code: string }
  | ({ t: "input" } & Input)
  | { t: "ping"; client_time: number }
  | { t: "leave" };

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
    default:
      throw new ProtocolError(`unknown message type ${raw.t}`);
  }
}

function decodeSnapshot(raw: Record<string, unknown>): Snapshot {
  const acks = new Map<number, number>();
  const q = POSITION_SCALE;
  const ships = array(raw.ships, "ships").map((s) => {
    const [id, x, y, vx, vy, aim, health, respawnTicks, ack] = nums(s, 9, "ship") as [
      number, number, number, number, number, number, number, number, number,
    ];
    acks.set(id, ack);
    return { id, x: x / q, y: y / q, vx: vx / q, vy: vy / q, aim: (aim / AIM_STEPS) * 2 * Math.PI, health, respawnTicks };
  });
  const projectiles = array(raw.projectiles, "projectiles").map((p) => {
    const [id, owner, seq, x, y, vx, vy] = nums(p, 7, "projectile") as [
      number, number, number, number, number, number, number,
    ];
    return { id, owner, seq, x: x / q, y: y / q, vx: vx / q, vy: vy / q };
  });
  const match = raw.match;
  if (!isRecord(match) || typeof match.phase !== "string" || typeof match.ends_tick !== "number") {
    throw new ProtocolError("match: expected {phase, ends_tick}");
  }
  if (typeof raw.pickups !== "number") throw new ProtocolError("pickups: expected a bit set");
  return {
    t: "snapshot",
    tick: Number(raw.tick),
    acks,
    ships,
    projectiles,
    pickups: raw.pickups,
    phase: match.phase as Phase,
    endsTick: match.ends_tick,
    scores: array(raw.scores, "scores").map((s) => nums(s, 3, "score") as [number, number, number]),
  };
}
