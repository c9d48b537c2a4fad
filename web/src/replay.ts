// Reading replay files (protocol/REPLAY.md; the Rust twin is protocol/src/replay.rs): the prelude,
// the zstd chunks (fzstd), and the MessagePack records in them. The snapshot and events records hold
// the room's own messages, which decodeServer reads as in live play. The inputs (each chunk's input
// block, format 2) matter to re-simulation only: this reader skips them and counts a tick's ops.
import { decodeMulti } from "@msgpack/msgpack";
import { decompress } from "fzstd";
import type { MapInfo, PlayerInfo, TuningInfo } from "./protocol";

/** The first bytes of every replay file ("ARENAREC"). */
export const REPLAY_MAGIC = "ARENAREC";
/** The newest replay format this client reads (format 1 files read too: they only lack input blocks). */
export const REPLAY_FORMAT_VERSION = 2;
/** The largest chunk accepted, compressed or not (as the server's reader). */
export const MAX_CHUNK_BYTES = 32 << 20;

export interface ReplayHeader {
  format: number;
  protocol: number;
  server_version: string;
  id: string;
  room: string;
  public: boolean;
  started_at_ms: number;
  tick_rate: number;
  snapshot_rate: number;
  max_rewind_us: number;
  seed: number;
  start_tick: number;
  keyframe_every: number;
  map: MapInfo;
  tuning: TuningInfo;
  players: PlayerInfo[];
}

export interface FinalScore {
  id: number;
  name: string;
  kills: number;
  deaths: number;
}

export interface ReplayEnd {
  tick: number;
  reason: "finished" | "abandoned" | "closed";
  players: FinalScore[];
  kills: number;
}

/** A record; the tick records (the calls made before each tick) matter to re-simulation only. */
export type ReplayRecord =
  | { kind: "tick"; tick: number; ops: number }
  | { kind: "snapshot"; tick: number; keyframe: boolean; bytes: Uint8Array }
  | { kind: "events"; tick: number; bytes: Uint8Array }
  | { kind: "end"; end: ReplayEnd };

export interface Replay {
  header: ReplayHeader;
  records: ReplayRecord[];
  /** The end record, when the file is whole. */
  end: ReplayEnd | null;
}

/** Why a file is not a replay this client can show; the message is for people. */
export class ReplayError extends Error {}

const num = (v: unknown): number => (typeof v === "bigint" ? Number(v) : (v as number));

/** Reads a whole replay file. Throws ReplayError with a reason for anything else. */
export function readReplay(file: Uint8Array): Replay {
  const magic = new TextDecoder().decode(file.subarray(0, 8));
  if (file.length < 10 || magic !== REPLAY_MAGIC) throw new ReplayError("this is not an Arena replay");
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const format = view.getUint16(8, true);
  if (format > REPLAY_FORMAT_VERSION) {
    throw new ReplayError(
      `this replay is of format ${format}, newer than this page reads (${REPLAY_FORMAT_VERSION}): reload the page`,
    );
  }
  const chunks: Uint8Array[] = [];
  let offset = 10;
  while (offset < file.length) {
    if (offset + 4 > file.length) throw new ReplayError(`the replay is truncated (chunk ${chunks.length})`);
    const len = view.getUint32(offset, true);
    if (len > MAX_CHUNK_BYTES) throw new ReplayError(`the replay is damaged (chunk ${chunks.length} is too large)`);
    if (offset + 4 + len > file.length) {
      throw new ReplayError(`the replay is truncated (chunk ${chunks.length} is cut off)`);
    }
    let raw: Uint8Array;
    try {
      raw = decompress(file.subarray(offset + 4, offset + 4 + len));
    } catch (err) {
      throw new ReplayError(`the replay is damaged (chunk ${chunks.length}: ${String(err)})`);
    }
    chunks.push(raw);
    offset += 4 + len;
  }
  const first = chunks[0];
  if (first === undefined) throw new ReplayError("the replay is truncated (it has no header)");
  let header: ReplayHeader;
  const records: ReplayRecord[] = [];
  try {
    header = decodeHeader(decodeMulti(first, { useBigInt64: true }).next().value);
    for (const chunk of chunks.slice(1)) {
      for (const value of decodeMulti(chunk, { useBigInt64: true })) {
        const record = decodeRecord(value);
        if (record !== null) records.push(record);
      }
    }
  } catch (err) {
    if (err instanceof ReplayError) throw err;
    throw new ReplayError(`the replay is damaged (${String(err)})`);
  }
  const last = records.at(-1);
  return { header, records, end: last?.kind === "end" ? last.end : null };
}

function decodeHeader(value: unknown): ReplayHeader {
  if (typeof value !== "object" || value === null) throw new ReplayError("the replay's header is damaged");
  const h = value as Record<string, unknown>;
  for (const key of ["tick_rate", "snapshot_rate", "start_tick", "map", "tuning", "players"]) {
    if (!(key in h)) throw new ReplayError(`the replay's header has no ${key}`);
  }
  const out = { ...h } as unknown as ReplayHeader & { state?: unknown; game_data?: unknown };
  for (const key of ["started_at_ms", "max_rewind_us", "seed", "start_tick"] as const) out[key] = num(h[key]);
  delete out.state;
  delete out.game_data;
  return out;
}

/** A record, or null for a chunk's input block (kind 5, not a record: the fields of its tick records' inputs). */
function decodeRecord(value: unknown): ReplayRecord | null {
  if (!Array.isArray(value) || value.length < 2) throw new ReplayError("a replay record is damaged");
  const kind = num(value[0]);
  if (kind === 5) return null;
  const tick = num(value[1]);
  switch (kind) {
    case 1:
      // Each op is an array, or (format 2) a player's id: their next input from the input block.
      return { kind: "tick", tick, ops: (value[2] as unknown[]).length };
    case 2:
      return { kind: "snapshot", tick, keyframe: value[2] as boolean, bytes: value[3] as Uint8Array };
    case 3:
      return { kind: "events", tick, bytes: value[2] as Uint8Array };
    case 4:
      return {
        kind: "end",
        end: {
          tick,
          reason: value[2] as ReplayEnd["reason"],
          // Each player as [id, name, kills, deaths].
          players: (value[3] as unknown[][]).map((p) => ({
            id: num(p[0]),
            name: String(p[1]),
            kills: num(p[2]),
            deaths: num(p[3]),
          })),
          kills: num(value[4]),
        },
      };
    default:
      throw new ReplayError(`the replay has a record of unknown kind ${kind}`);
  }
}
