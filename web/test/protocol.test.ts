// The golden fixtures written by the Rust tests (protocol/fixtures/) decode to the same values here.
import { decode, encode } from "@msgpack/msgpack";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeServer, PROTOCOL_VERSION, pickupUp } from "../src/protocol";

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
    assert.equal(msg.t, name.slice("server_".length));
  });
}

test("the snapshot fixture becomes named records", () => {
  const msg = decodeServer(readFileSync(join(dir, "server_snapshot.msgpack")));
  assert.equal(msg.t, "snapshot");
  if (msg.t !== "snapshot") return;
  assert.equal(msg.tick, 1234);
  assert.equal(msg.acks.get(7), 41);
  assert.equal(msg.acks.get(3), 1200);
  const ship = msg.ships[0]!;
  assert.deepEqual({ ...ship, aim: 0 }, { id: 3, x: 100.5, y: 200.25, vx: -30, vy: 0, aim: 0, health: 75, respawnTicks: 0 });
  assert.ok(Math.abs(ship.aim - (31291 / 65536) * 2 * Math.PI) < 1e-12);
  assert.equal(msg.ships[1]?.respawnTicks, 90);
  assert.equal(msg.ships[1]?.aim, 1.5 * Math.PI);
  assert.deepEqual(msg.projectiles[0], { id: 12, owner: 3, seq: 1198, x: 150, y: 200, vx: 900, vy: 0 });
  assert.equal(pickupUp(msg.pickups, 0), true);
  assert.equal(pickupUp(msg.pickups, 1), false);
  assert.equal(msg.phase, "playing");
  assert.equal(msg.endsTick, 9000);
  assert.deepEqual(msg.scores, [[3, 4, 1], [7, 1, 4]]);
});

test("garbage is a protocol error, not a crash", () => {
  assert.throws(() => decodeServer(new Uint8Array([0xc1])), /not MessagePack/);
  assert.throws(() => decodeServer(encode({ t: "snapshot", tick: 1 })), /ships/);
  assert.throws(() => decodeServer(encode({ t: "teleport" })), /unknown message type/);
  assert.throws(() => decodeServer(encode([1, 2, 3])), /not a message map/);
});
