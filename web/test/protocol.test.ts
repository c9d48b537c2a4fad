// The golden fixtures written by the Rust tests (protocol/fixtures/) decode to the same values here.
import { decode, encode } from "@msgpack/msgpack";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeServer, PROTOCOL_VERSION, pickupUp, reckon, type SnapshotFrame, SnapshotDecoder } from "../src/protocol";

const dir = join(process.cwd(), "..", "protocol", "fixtures");
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".msgpack"))
  .map((f) => f.slice(0, -".msgpack".length));

test("fixtures are for this client's protocol version", () => {
  assert.equal(Number(readFileSync(join(dir, "VERSION"), "utf8").trim()), PROTOCOL_VERSION);
  assert.ok(names.length >= 15, `only ${names.length} fixtures`);
});

for (const name of names) {
  test(`fixture ${name} decodes to its JSON twin`, () => {
    const bytes = readFileSync(join(dir, `${name}.msgpack`));
    const expected = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
    assert.deepEqual(decode(bytes), expected);
  });
}

for (const name of names.filter((n) => n.startsWith("client_"))) {
  test(`${name} re-encodes to a value the server decodes the same`, () => {
    const value = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
    assert.deepEqual(decode(encode(value)), value);
  });
}

for (const name of names.filter((n) => n.startsWith("server_"))) {
  test(`client decodes ${name}`, () => {
    const msg = decodeServer(readFileSync(join(dir, `${name}.msgpack`)));
    assert.equal(msg.t, name.slice("server_".length).replace(/_delta$/, ""));
  });
}

function frame(name: string): SnapshotFrame {
  const msg = decodeServer(readFileSync(join(dir, `server_${name}.msgpack`)));
  assert.equal(msg.t, "snapshot");
  return msg as SnapshotFrame;
}

test("the keyframe fixture becomes named records", () => {
  const snap = new SnapshotDecoder(60).apply(frame("snapshot"));
  assert.equal(snap.tick, 1234);
  assert.equal(snap.acks.get(7), 41);
  assert.equal(snap.acks.get(3), 1200);
  const ship = snap.ships[0]!;
  assert.deepEqual({ ...ship, aim: 0 }, { id: 3, x: 100.5, y: 200.25, vx: -30, vy: 0, aim: 0, health: 75, respawnTicks: 0 });
  assert.ok(Math.abs(ship.aim - (1956 / 4096) * 2 * Math.PI) < 1e-12);
  assert.equal(snap.ships[1]?.respawnTicks, 90);
  assert.equal(snap.ships[1]?.aim, 1.5 * Math.PI);
  assert.deepEqual(snap.projectiles[0], { id: 12, owner: 3, seq: 1198, tick: 1234, x: 150, y: 200, vx: 900, vy: 0, endTick: 1274 });
  assert.equal(pickupUp(snap.pickups, 0), true);
  assert.equal(pickupUp(snap.pickups, 1), false);
  assert.equal(snap.phase, "playing");
  assert.equal(snap.endsTick, 9000);
  assert.deepEqual(snap.scores, [[3, 4, 1], [7, 1, 4]]);
});

test("the delta fixture applies to the keyframe (the same values as protocol/src/examples.rs)", () => {
  const decoder = new SnapshotDecoder(60);
  decoder.apply(frame("snapshot"));
  const snap = decoder.apply(frame("snapshot_delta"));
  assert.equal(snap.tick, 1236);
  assert.deepEqual(
    snap.ships.map((s) => ({ ...s, aim: Math.round((s.aim / (2 * Math.PI)) * 4096) })),
    [
      { id: 3, x: 99.5, y: 200.25, vx: -30, vy: 0, aim: 1963, health: 75, respawnTicks: 0 },
      { id: 7, x: 800, y: 500, vx: 0, vy: 0, aim: 3072, health: 0, respawnTicks: 88 },
      { id: 9, x: 100, y: 100, vx: 0, vy: 0, aim: 0, health: 100, respawnTicks: 0 },
    ],
  );
  assert.deepEqual([...snap.acks], [[3, 1202], [7, 41], [9, 0]]);
  assert.deepEqual(
    snap.projectiles.map((p) => [p.id, p.tick, p.x, p.endTick]),
    [[12, 1234, 150, 1274], [13, 1236, 99.5, 1326]],
  );
  assert.equal(snap.pickups, 3);
  assert.equal(snap.phase, "playing");
  assert.deepEqual(snap.scores, [], "unchanged");
});

test("a delta without its base is refused, and hits end projectiles", () => {
  assert.throws(() => new SnapshotDecoder(60).apply(frame("snapshot_delta")), /delta for tick 1236 against 1234/);
  const decoder = new SnapshotDecoder(60);
  const first = decoder.apply(frame("snapshot"));
  decoder.applyEvents(1236, [{ e: "hit", shooter: 3, target: 7, damage: 25, shot: 12 }]);
  assert.equal(first.projectiles[0]?.endTick, 1236);
  const second = decoder.apply(frame("snapshot_delta"));
  assert.deepEqual(second.projectiles.map((p) => p.id), [13], "12 ended at 1236");
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
});
