// The client's wire code (src/protocol.ts) against the golden fixtures the Rust tests write
// (protocol/fixtures/, each *.msgpack with its value as JSON beside it): decodeServer turns every server_*
// fixture into the client's typed message with the JSON twin's values, SnapshotDecoder rebuilds the two
// snapshot fixtures as protocol/src/examples.rs has them, and encodeClient writes every client_* fixture's
// bytes (client_input's f32 fields as the server reads them).
import { decode, encode } from "@msgpack/msgpack";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  type ClientMsg,
  decodeServer,
  encodeClient,
  type Phase,
  type Projectile,
  PROTOCOL_VERSION,
  pickupUp,
  reckon,
  type ServerMsg,
  type Ship,
  type Snapshot,
  type SnapshotFrame,
  SnapshotDecoder,
} from "../src/protocol";
import { hexOf, tokens } from "./msgpack-tokens";

const dir = join(process.cwd(), "..", "protocol", "fixtures");
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".msgpack"))
  .map((f) => f.slice(0, -".msgpack".length));
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, `${name}.msgpack`)));
const jsonOf = (name: string): unknown => JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
/** The bytes as the browser's WebSocket hands them to the client (binaryType "arraybuffer"). */
const arrayBufferOf = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer;

test("fixtures are for this client's protocol version", () => {
  assert.equal(Number(readFileSync(join(dir, "VERSION"), "utf8").trim()), PROTOCOL_VERSION);
  assert.ok(names.length >= 15, `only ${names.length} fixtures`);
});

test("fixture files: each .msgpack holds its .json twin's value (checks the fixtures with @msgpack/msgpack, not the client)", () => {
  for (const name of names) assert.deepEqual(decode(bytesOf(name)), jsonOf(name), name);
});

// ---- Server messages: decodeServer ----

/**
 * What decodeServer must make of each server_* fixture, in the client's types (so tsc checks the field
 * names and types). Every message but the snapshot has the wire's field names; a snapshot frame's ships
 * become {id, mask, values by bit} and its match {phase, endsTick} (see `wireOf`).
 */
const SERVER_MESSAGES: Record<string, ServerMsg> = {
  welcome: {
    t: "welcome",
    player_id: 7,
    version: PROTOCOL_VERSION,
    tick_rate: 60,
    snapshot_rate: 30,
    server_time: 1500.25,
    reconnect_token: "00112233445566778899aabbccddeeff",
    resumed: false,
    tuning: {
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
    },
    input_batch: 2,
  },
  joined: {
    t: "joined",
    room: "KQZTR",
    public: false,
    capacity: 16,
    map: { name: "crossroads", size: [1600, 1000], walls: [[700, 450, 200, 100]], pickups: [[800, 200], [800, 800]] },
    players: [{ id: 3, name: "Grace" }, { id: 7, name: "Ada" }, { away: true, id: 9, name: "Linus" }],
  },
  joined_spectating: {
    t: "joined",
    room: "KQZTR",
    public: true,
    capacity: 16,
    map: { name: "duel", size: [1600, 1000], walls: [], pickups: [] },
    players: [{ id: 3, name: "Grace" }],
    spectating: true,
  },
  left: { t: "left" },
  events: {
    t: "events",
    tick: 1234,
    events: [
      { e: "hit", shooter: 3, target: 7, damage: 25, shot: 11, tick: 1233 },
      { e: "kill", killer: 3, victim: 7 },
      { e: "phase", phase: "results", ends_tick: 1834 },
      { e: "join", id: 9, name: "Linus" },
      { e: "leave", id: 9 },
    ],
  },
  pong: { t: "pong", client_time: 12345.5, server_time: 1510 },
  replay: { t: "replay", id: "20261206-153000-kqztrabc" },
  chat: { t: "chat", from: 3, name: "Grace", text: "gg, one more?", server_time: 1520.5 },
  chat_whisper: { t: "chat", from: 3, name: "Grace", text: "left side", to: 9, server_time: 1521 },
  error: { t: "error", code: "room_full", message: "room KQZTR is full (16 of 16)" },
  handoff: { t: "handoff", url: "ws://10.0.0.2:8080/ws", ticket: "ffeeddccbbaa99887766554433221100", room: "KQZTR", node: "eu-2" },
  notice: { t: "notice", text: "Restarting eu-1 in 5 minutes", server_time: 1530 },
  // The keyframe: every value is the field itself (aim the short way round from 0).
  snapshot: {
    t: "snapshot",
    tick: 1234,
    base: 0,
    ships: [
      // [3, 95, 804, 1602, 1200, 1956, -240, 75]: mask 95 = x, y, ack, aim, vx, health.
      { id: 3, mask: 95, values: [804, 1602, 1200, 1956, -240, 0, 75, 0] },
      // [7, 143, 6400, 4000, 41, -1024, 90]: mask 143 = x, y, ack, aim, respawn ticks.
      { id: 7, mask: 143, values: [6400, 4000, 41, -1024, 0, 0, 0, 90] },
    ],
    projectiles: [[12, 3, 1198, 1200, 1600, 7200, 0, 40]],
    pickups: 1,
    match: { phase: "playing", endsTick: 9000 },
    scores: [[3, 4, 1], [7, 1, 4]],
  },
  // The delta against it, two ticks on: no match and no scores (both unchanged).
  snapshot_delta: {
    t: "snapshot",
    tick: 1236,
    base: 2,
    ships: [
      { id: 3, mask: 8, values: [0, 0, 0, 7, 0, 0, 0, 0] }, // [3, 8, 7]: aim
      { id: 7, mask: 4, values: [0, 0, -2, 0, 0, 0, 0, 0] }, // [7, 4, -2]: ack
      { id: 9, mask: 71, values: [800, 800, -2, 0, 0, 0, 100, 0] }, // [9, 71, 800, 800, -2, 100]: x, y, ack, health
    ],
    projectiles: [[13, 3, 1202, 796, 1602, -7197, 207, 90]],
    pickups: 3,
    match: undefined,
    scores: [],
  },
};

/** A message as its JSON twin writes it: a snapshot frame back in its wire shape, anything else as it is. */
function wireOf(msg: ServerMsg): unknown {
  if (msg.t !== "snapshot") return msg;
  return {
    t: msg.t,
    tick: msg.tick,
    base: msg.base,
    ships: msg.ships.map((s) => [s.id, s.mask, ...s.values.filter((_, bit) => (s.mask & (1 << bit)) !== 0)]),
    // Left out when empty or absent, as the server writes them.
    ...(msg.projectiles.length > 0 && { projectiles: msg.projectiles }),
    ...(msg.pickups !== undefined && { pickups: msg.pickups }),
    ...(msg.match && { match: { phase: msg.match.phase, ends_tick: msg.match.endsTick } }),
    ...(msg.scores.length > 0 && { scores: msg.scores }),
  };
}

for (const name of names.filter((n) => n.startsWith("server_"))) {
  const key = name.slice("server_".length);
  test(`decodeServer(${name}) gives the client's message with its JSON twin's values`, () => {
    const want = SERVER_MESSAGES[key];
    assert.ok(want, `no expected message for ${name} in this test`);
    assert.deepEqual(wireOf(want), jsonOf(name), "the expected message is the JSON twin's, in the client's names");
    assert.deepEqual(decodeServer(arrayBufferOf(bytesOf(name))), want);
    assert.deepEqual(decodeServer(bytesOf(name)), want, "from a Uint8Array too");
  });
}

// ---- Snapshots: SnapshotDecoder ----

function frame(name: string): SnapshotFrame {
  const msg = decodeServer(bytesOf(`server_${name}`));
  assert.equal(msg.t, "snapshot");
  return msg as SnapshotFrame;
}

/** A ship as protocol/src/examples.rs writes it: wire integers (1/8 units, 1/4096 turns) and its ack. */
interface ExampleShip {
  id: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
  aim: number;
  health: number;
  respawn_ticks: number;
  ack: number;
}

/** A projectile as protocol/src/examples.rs writes it. */
interface ExampleProjectile {
  id: number;
  owner: number;
  seq: number;
  tick: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
  end_tick: number;
}

/** The snapshot an examples.rs snapshot is in the client's units (protocol/README.md, "Quantization"). */
function clientSnapshot(s: {
  tick: number;
  ships: ExampleShip[];
  projectiles: ExampleProjectile[];
  pickups: number;
  phase: Phase;
  endsTick: number;
  scores: [number, number, number][];
}): Snapshot {
  const ship = (e: ExampleShip): Ship => ({
    id: e.id,
    x: e.x / 8,
    y: e.y / 8,
    vx: e.vx / 8,
    vy: e.vy / 8,
    aim: (e.aim / 4096) * 2 * Math.PI,
    health: e.health,
    respawnTicks: e.respawn_ticks,
  });
  const projectile = (p: ExampleProjectile): Projectile => ({
    id: p.id,
    owner: p.owner,
    seq: p.seq,
    tick: p.tick,
    x: p.x / 8,
    y: p.y / 8,
    vx: p.vx / 8,
    vy: p.vy / 8,
    endTick: p.end_tick,
  });
  return {
    t: "snapshot",
    tick: s.tick,
    acks: new Map(s.ships.map((e) => [e.id, e.ack])),
    ships: s.ships.map(ship),
    projectiles: s.projectiles.map(projectile),
    pickups: s.pickups,
    phase: s.phase,
    endsTick: s.endsTick,
    scores: s.scores,
  };
}

// examples::snapshots() in protocol/src/examples.rs, field for field.
const ship3: ExampleShip = { id: 3, x: 804, y: 1602, vx: -240, vy: 0, aim: 1956, health: 75, respawn_ticks: 0, ack: 1200 };
const ship7: ExampleShip = { id: 7, x: 6400, y: 4000, vx: 0, vy: 0, aim: 3072, health: 0, respawn_ticks: 90, ack: 41 };
const shot12: ExampleProjectile = { id: 12, owner: 3, seq: 1198, tick: 1234, x: 1200, y: 1600, vx: 7200, vy: 0, end_tick: 1274 };
const FIRST = clientSnapshot({
  tick: 1234,
  ships: [ship3, ship7],
  projectiles: [shot12],
  pickups: 0b01,
  phase: "playing",
  endsTick: 9000,
  scores: [[3, 4, 1], [7, 1, 4]],
});
const SECOND = clientSnapshot({
  tick: 1236,
  ships: [
    { ...ship3, x: 796, aim: 1963, ack: 1202 },
    { ...ship7, respawn_ticks: 88 },
    { id: 9, x: 800, y: 800, vx: 0, vy: 0, aim: 0, health: 100, respawn_ticks: 0, ack: 0 },
  ],
  projectiles: [
    // examples.rs has 12 at tick 1236 (x 1440); a decoder keeps it where it was announced, at tick 1234
    // (tests/snapshots.rs compares ids and end ticks, and the position at 1236: see below).
    shot12,
    { id: 13, owner: 3, seq: 1202, tick: 1236, x: 796, y: 1602, vx: -7197, vy: 207, end_tick: 1326 },
  ],
  pickups: 0b11,
  phase: "playing",
  endsTick: 9000,
  // The Rust decoder keeps the last list here; the client's hands on what was sent, empty meaning
  // unchanged, and Game keeps the last list (protocol/README.md, "Decoding snapshots").
  scores: [],
});

/** `got` is `want`: the ships one by one, field by field, then everything else. */
function assertSnapshot(got: Snapshot, want: Snapshot): void {
  assert.deepEqual(got.ships.map((s) => s.id), want.ships.map((s) => s.id), "ship ids");
  want.ships.forEach((w, i) => {
    for (const field of Object.keys(w) as (keyof Ship)[]) {
      assert.equal(got.ships[i]![field], w[field], `ship ${w.id}: ${field}`);
    }
  });
  assert.deepEqual(got, want);
}

test("SnapshotDecoder rebuilds the keyframe fixture as examples::snapshots' first snapshot", () => {
  const snap = new SnapshotDecoder(60).apply(frame("snapshot"));
  assertSnapshot(snap, FIRST);
  // Spot checks in the spec's words (protocol/README.md, "Ship records").
  assert.equal(snap.ships[1]?.aim, 1.5 * Math.PI, "ship 7's aim -1024 wraps to 3072, facing up");
  assert.equal(pickupUp(snap.pickups, 0), true);
  assert.equal(pickupUp(snap.pickups, 1), false);
});

test("SnapshotDecoder rebuilds the delta fixture, after the keyframe, as examples::snapshots' second snapshot", () => {
  const decoder = new SnapshotDecoder(60);
  decoder.apply(frame("snapshot"));
  const snap = decoder.apply(frame("snapshot_delta"));
  assertSnapshot(snap, SECOND);
  // Where projectile 12 flies to by tick 1236: examples.rs's x 1440 / 8, y 1600 / 8.
  const p = snap.projectiles[0]!;
  assert.deepEqual([p.x + (p.vx * (1236 - p.tick)) / 60, p.y + (p.vy * (1236 - p.tick)) / 60], [180, 200]);
  assert.equal(pickupUp(snap.pickups, 1), true, "pickup 1 came back");
});

test("a delta without its base is refused, and hits end projectiles", () => {
  assert.throws(() => new SnapshotDecoder(60).apply(frame("snapshot_delta")), /delta for tick 1236 against 1234/);
  const decoder = new SnapshotDecoder(60);
  const first = decoder.apply(frame("snapshot"));
  // A hit during tick 1235, between the two snapshots: the projectile is drawn up to there, not on to 1236.
  decoder.applyEvents(1236, [{ e: "hit", shooter: 3, target: 7, damage: 25, shot: 12, tick: 1235 }]);
  assert.equal(first.projectiles[0]?.endTick, 1235);
  const second = decoder.apply(frame("snapshot_delta"));
  assert.deepEqual(second.projectiles.map((p) => p.id), [13], "12 ended at 1235");
});

test("dead reckoning rounds halves away from zero, as the server does", () => {
  assert.equal(reckon(5, 1, 2), 3);
  assert.equal(reckon(-5, 1, 2), -3);
  assert.equal(reckon(4, 1, 3), 1);
  assert.equal(reckon(-5, 1, 3), -2);
  assert.equal(reckon(2560, 2, 60), 86);
});

test("garbage is a protocol error, not a crash", () => {
  assert.throws(() => decodeServer(new Uint8Array([0xc1])), /not MessagePack/);
  assert.throws(() => decodeServer(encode({ t: "snapshot", tick: 1, base: 0 })), /ships/);
  assert.throws(() => decodeServer(encode({ t: "snapshot", tick: 1, base: 0, ships: [[1, 3, 5]], projectiles: [], scores: [] })), /bit 1/);
  assert.throws(() => decodeServer(encode({ t: "teleport" })), /unknown message type/);
  assert.throws(() => decodeServer(encode([1, 2, 3])), /not a message map/);
  // A hand-off names the socket the client opens next: nothing but a WebSocket address.
  const handoff = { t: "handoff", ticket: "ffeeddccbbaa99887766554433221100", room: "KQZTR", node: "eu-2" };
  assert.throws(() => decodeServer(encode({ ...handoff, url: "javascript:alert(1)" })), /ws\(s\):\/\/ url/);
  assert.throws(() => decodeServer(encode({ ...handoff, url: "https://10.0.0.2/ws" })), /ws\(s\):\/\/ url/);
  assert.throws(() => decodeServer(encode({ t: "notice", server_time: 1 })), /notice: expected a text/);
});

// ---- Client messages: encodeClient ----

/**
 * Each client_* fixture's message as the client builds it: keys in the order of src/net.ts (hello) and
 * src/game.ts (the others, input as `{ t: "input", ...input }` of an Input), since MessagePack keeps the
 * order and the bytes follow it.
 */
const CLIENT_MESSAGES: Record<string, ClientMsg> = {
  hello: { t: "hello", version: PROTOCOL_VERSION, name: "Ada", reconnect_token: null },
  hello_reconnect: { t: "hello", version: PROTOCOL_VERSION, name: "Ada", reconnect_token: "00112233445566778899aabbccddeeff" },
  hello_ticket: { t: "hello", version: PROTOCOL_VERSION, name: "Ada", reconnect_token: null, ticket: "ffeeddccbbaa99887766554433221100" },
  quick_play: { t: "quick_play" },
  create_room: { t: "create_room" },
  join_room: { t: "join_room", code: "KQZTR" },
  input: { t: "input", seq: 42, movement: [1.0, -0.5], aim: 1.5, buttons: 1, view_tick: 1228.5 },
  inputs: {
    t: "inputs",
    inputs: [
      { seq: 43, movement: [1.0, -0.5], aim: 1.5, buttons: 1, view_tick: 1228.75 },
      { seq: 44, movement: [0.0, 1.0], aim: -0.25, buttons: 0 },
    ],
  },
  ping: { t: "ping", client_time: 12345.5 },
  leave: { t: "leave" },
  watch: { t: "watch", code: "KQZTR" },
  chat: { t: "chat", text: "gg, one more?" },
  chat_whisper: { t: "chat", text: "left side", to: 9 },
};

/**
 * Client messages whose bytes legitimately differ from the fixture. @msgpack/msgpack writes a number as
 * the smallest integer format when it is an integer and as float 64 otherwise, where the server writes
 * f32 fields as float 32; the server reads float 64 and integers into f32 fields too (protocol/README.md,
 * "Encoding"), so only their encoding differs, never the value the server gets.
 */
const F32_AS_NUMBER = new Map([
  ["input", 3],
  ["inputs", 6],
]);

function clientTest(name: string, check: (sent: Uint8Array, fixture: Uint8Array) => void): void {
  const msg = CLIENT_MESSAGES[name.slice("client_".length)];
  assert.ok(msg, `no client message for ${name} in this test`);
  assert.deepEqual(msg, jsonOf(name), "the message is the JSON twin's");
  check(encodeClient(msg), bytesOf(name));
}

for (const name of names.filter((n) => n.startsWith("client_"))) {
  if (F32_AS_NUMBER.has(name.slice("client_".length))) continue;
  test(`encodeClient writes ${name}'s bytes exactly`, () => {
    clientTest(name, (sent, fixture) => assert.equal(hexOf(sent), hexOf(fixture)));
  });
}

for (const [name, f32Fields] of F32_AS_NUMBER) test(`encodeClient writes client_${name}'s bytes but for its f32 fields, as an integer or float 64 of the same f32`, () => {
  clientTest(`client_${name}`, (sent, fixture) => {
    const [got, want] = [tokens(sent), tokens(fixture)];
    assert.equal(got.length, want.length, `items: ${got.map((t) => t.hex).join(" ")}`);
    let f32s = 0;
    want.forEach((w, i) => {
      const g = got[i]!;
      // Only an f32 field is float 32 on the wire; the server reads any number there, rounded to f32.
      if (w.kind === "float32" && (g.kind === "int" || g.kind === "float64")) {
        assert.equal(Math.fround(g.value as number), w.value, `item ${i}: ${g.hex} for ${w.hex}`);
        f32s++;
      } else {
        assert.equal(g.hex, w.hex, `item ${i}`);
      }
    });
    assert.equal(f32s, f32Fields, "movement x, y and aim differ (if the client writes float 32 now, test it for exact bytes)");
  });
});
