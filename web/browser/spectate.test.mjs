// Spectators in real Chromium: A and B fill a room of two; C opens the invite link, finds it full and
// watches instead (no ship, the room's player count unchanged), follows a player with a key, and takes
// the seat B frees with "Join the match"; D watches through a #CODE/watch link.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { duelAssets, openPage, saveDir, serverAndBrowser, state, waitFor } from "./harness.mjs";

const env = serverAndBrowser(["--assets", duelAssets(), "--map", "duel", "--room-capacity", "2"]);

const roomPlayers = async () => (await (await fetch(`${env.server.url}/api/status`)).json()).rooms.map((r) => [r.players, r.spectators]);

test("a full room is watched, a player followed, and a freed seat taken", async () => {
  const a = await openPage(env.browser, `${env.server.url}/`);
  await a.page.fill("#name", "Ada");
  await a.page.click("#create-room");
  const room = await waitFor(a.page, (s) => s.room, "A's room");
  const b = await openPage(env.browser, `${env.server.url}/#${room}`);
  await waitFor(b.page, (s) => s.room === room && s.me, "B seated");

  const c = await openPage(env.browser, `${env.server.url}/#${room}`);
  const watching = await waitFor(c.page, (s) => s.spectating && s.ships.length === 2 && s, "C watching the full room", 15_000);
  assert.equal(watching.me, null, "a spectator has no ship");
  assert.equal(watching.room, room);
  assert.ok(await c.page.isVisible("#spectate-join"));
  assert.deepEqual(await roomPlayers(), [[2, 1]], "two players and one spectator");
  await c.page.waitForFunction(() => document.querySelector("#spectate-join").disabled, null, { timeout: 5_000 });

  // 1 follows the leader: the camera zooms on that ship.
  await c.page.keyboard.press("Digit1");
  const following = await waitFor(c.page, (s) => s.following !== null && s.camera.following && s, "C following a player");
  assert.ok([(await state(a.page)).playerId, (await state(b.page)).playerId].includes(following.following));
  await c.page.screenshot({ path: join(saveDir(), "spectator.png") });

  // D watches through a watch link.
  const d = await openPage(env.browser, `${env.server.url}/#${room}/watch`);
  await waitFor(d.page, (s) => s.spectating && s.ships.length === 2, "D watching by link", 15_000);
  assert.deepEqual(await roomPlayers(), [[2, 2]]);

  // B leaves; C takes the seat.
  await b.page.click("#leave");
  await waitFor(c.page, (s) => s.ships.length === 1, "B's ship gone for C");
  await c.page.waitForFunction(() => !document.querySelector("#spectate-join").disabled);
  await c.page.click("#spectate-join");
  const seated = await waitFor(c.page, (s) => !s.spectating && s.me && s.ships.length === 2 && s, "C playing", 15_000);
  assert.equal(seated.room, room);
  await waitFor(a.page, (s) => s.ships.some((ship) => ship.id === seated.playerId), "A sees C's ship");
  assert.deepEqual(await roomPlayers(), [[2, 1]], "C took the seat; D still watches");
  for (const p of [a, b, c, d]) assert.deepEqual(p.errors, []);
});
