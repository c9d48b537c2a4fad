// Browser end-to-end: two real Chromium pages play on a real env.server. One creates a private room, the
// other opens its invite link; both see two ships; a held key moves A's ship on B's screen; A shoots B.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { duelAssets, netStats, openPage, saveDir, serverAndBrowser, state, waitFor } from "./harness.mjs";

const env = serverAndBrowser(["--assets", duelAssets(), "--map", "duel"]);

test("two players meet through an invite link, move and shoot", async () => {
  const a = await openPage(env.browser, `${env.server.url}/`);
  // Browsers allow sound only after a gesture: none is made before the first click.
  assert.equal((await a.page.evaluate(() => window.__arena.sound())).context, "none");
  await a.page.fill("#name", "Alice");
  await a.page.click("#create-room");
  const room = await waitFor(a.page, (s) => s.room, "room created");
  const invite = (await state(a.page)).inviteLink;
  assert.equal(invite, `${env.server.url}/#${room}`);

  const b = await openPage(env.browser, invite);
  await waitFor(b.page, (s) => s.room === room && s.ships.length === 2, "B in A's room with two ships");
  await waitFor(a.page, (s) => s.ships.length === 2 && s.phase === "playing", "A sees two ships, match on");
  const { playerId: aId } = await state(a.page);
  const { playerId: bId } = await state(b.page);
  // B's first gesture (a key), so its page may make sound.
  await b.page.keyboard.press("Shift");
  // The names are on both screens.
  assert.deepEqual((await state(b.page)).ships.find((s) => s.id === aId)?.name, "Alice");

  // A holds a movement key toward the middle; B sees A's ship move.
  await a.page.waitForTimeout(300); // let the match-start respawn settle
  const seenBefore = (await state(b.page)).ships.find((s) => s.id === aId);
  const key = seenBefore.x < 800 ? "KeyD" : "KeyA";
  await a.page.keyboard.down(key);
  await a.page.waitForTimeout(700);
  await a.page.keyboard.up(key);
  const moved = await waitFor(
    b.page,
    (s) => {
      const ship = s.ships.find((x) => x.id === aId);
      return ship && Math.abs(ship.x - seenBefore.x) > 100 ? ship : null;
    },
    "A's ship to move on B's screen",
  );
  assert.ok(Math.abs(moved.y - seenBefore.y) < 1, "moved along x only");
  await a.page.screenshot({ path: join(saveDir(), "player-a.png") });

  // A aims at B with the real mouse and holds the button until B is hurt.
  const aim = async () => {
    const target = (await state(a.page)).ships.find((s) => s.id === bId);
    const p = await a.page.evaluate(([x, y]) => window.__arena.screenPosition(x, y), [target.x, target.y]);
    await a.page.mouse.move(p.x, p.y);
  };
  await aim();
  await a.page.mouse.down();
  const hurt = await waitFor(
    b.page,
    (s) => {
      const me = s.me;
      return me && me.health < 100 ? me : null;
    },
    "B's health to drop",
    8_000,
  );
  await a.page.mouse.up();
  assert.ok(hurt.health < 100);
  // Heard and seen: A's shots and hits, B being hit (a red wedge toward A, and the damage number).
  const heardA = (await state(a.page)).sound;
  const heardB = (await state(b.page)).sound;
  assert.equal(heardA.context, "running");
  assert.ok(heardA.played.fire >= 1 && heardA.played.hit >= 1, JSON.stringify(heardA));
  assert.ok(heardB.played.hurt >= 1, JSON.stringify(heardB));
  await b.page.screenshot({ path: join(saveDir(), "player-b-hit.png") });
  await a.page.keyboard.down("Tab");
  await a.page.screenshot({ path: join(saveDir(), "scoreboard.png") });
  await a.page.keyboard.up("Tab");
  // M mutes, and the page remembers it.
  await a.page.keyboard.press("KeyM");
  assert.equal((await state(a.page)).sound.muted, true);
  assert.equal(await a.page.textContent("#mute"), "Sound: off");

  assert.deepEqual(a.errors, [], "console errors on A");
  assert.deepEqual(b.errors, [], "console errors on B");
  const stats = await netStats(a.page);
  console.log(`loopback netcode: ${JSON.stringify(stats)}`);
});

test("a dropped connection reconnects to the same seat with the score kept", async () => {
  const a = await openPage(env.browser, `${env.server.url}/`);
  await a.page.fill("#name", "Carol");
  await a.page.click("#quick-play");
  const before = await waitFor(a.page, (s) => s.room && s.me && s, "in a room");
  await a.page.evaluate(() => window.__arena.dropConnection());
  await waitFor(a.page, (s) => s.reconnecting, "the reconnecting overlay");
  assert.ok(await a.page.isVisible("#reconnecting"));
  const back = await waitFor(a.page, (s) => !s.reconnecting && s.connected && s.me && s, "back in", 10_000);
  assert.equal(back.playerId, before.playerId);
  assert.equal(back.room, before.room);
  assert.deepEqual(a.errors, []);
});
