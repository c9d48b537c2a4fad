// Touch play on a phone (Chromium's touch emulation, a 390×844 viewport): the sticks show, the camera
// follows one's ship (the arena is far wider than the screen), the left stick moves the ship and the
// right one aims and fires, both at once with two fingers, and the page neither scrolls nor zooms.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { duelAssets, saveDir, serverAndBrowser, state, waitFor } from "./harness.mjs";

const env = serverAndBrowser(["--assets", duelAssets(), "--map", "duel"]);

/** The centre of an element, CSS pixels. */
async function centre(page, selector) {
  const box = await page.locator(selector).boundingBox();
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

test("on a phone, two fingers move the ship and fire while the camera follows it", async () => {
  const context = await env.browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto(`${env.server.url}/`);
  await page.fill("#name", "Thumbs");
  await page.tap("#create-room");
  const start = await waitFor(page, (s) => s.me && s.me.alive && s.camera.following && s, "in a room, the camera on the ship", 15_000);
  assert.equal(start.touch, true, "the page sees a touch screen");
  assert.ok(await page.isVisible("#stick-move") && (await page.isVisible("#stick-aim")), "both sticks show");
  assert.ok(start.camera.following, `the camera follows on a phone: ${JSON.stringify(start.camera)}`);
  assert.ok(start.camera.scale >= 0.55, `a playable scale: ${start.camera.scale} px a unit`);

  const cdp = await context.newCDPSession(page);
  const touch = (type, points) => cdp.send("Input.dispatchTouchEvent", { type, touchPoints: points.map(([x, y, id]) => ({ x, y, id })) });
  const move = await centre(page, "#stick-move");
  const aim = await centre(page, "#stick-aim");
  // Finger 1: the left stick pushed to the right. Finger 2, a moment later: the right stick pushed up.
  const before = await state(page);
  await touch("touchStart", [[move.x, move.y, 1]]);
  await touch("touchMove", [[move.x + 50, move.y, 1]]);
  await touch("touchStart", [[move.x + 50, move.y, 1], [aim.x, aim.y, 2]]);
  await touch("touchMove", [[move.x + 50, move.y, 1], [aim.x, aim.y - 50, 2]]);
  const moving = await waitFor(
    page,
    (s) => s.me && s.me.x > before.me.x + 120 && s.shotsFired >= before.shotsFired + 2 && s,
    "the ship moving right and firing",
    8_000,
  );
  await page.screenshot({ path: join(saveDir(), "touch-phone.png") });
  await touch("touchEnd", [[move.x + 50, move.y, 1]]);
  await touch("touchEnd", []);
  assert.ok(Math.abs(moving.me.y - before.me.y) < 1, "the left stick pushed right moves along x only");
  const stopped = await waitFor(page, (s) => s.predictedShots === 0 && s, "the shots land once the right thumb lifts", 5_000);
  assert.equal(stopped.shotsFired, (await state(page)).shotsFired, "no more shots without a thumb on the stick");
  assert.deepEqual(await page.evaluate(() => [window.scrollX, window.scrollY]), [0, 0], "the page did not scroll");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a gamepad's left stick moves, its right stick aims and its trigger fires", async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  // A pad in the standard mapping, as Chromium's Gamepad API reports one; the test moves its sticks.
  await context.addInitScript(() => {
    const pad = { id: "Test pad", index: 0, connected: true, mapping: "standard", timestamp: 0, axes: [0, 0, 0, 0], buttons: Array.from({ length: 17 }, () => ({ pressed: false, touched: false, value: 0 })) };
    window.__pad = pad;
    navigator.getGamepads = () => [pad, null, null, null];
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto(`${env.server.url}/`);
  await page.fill("#name", "Pad");
  await page.click("#create-room");
  const before = await waitFor(page, (s) => s.me && s.me.alive && s.gamepad && s, "in a room with the pad", 15_000);
  await page.evaluate(() => {
    window.__pad.axes = [0, 1, -1, 0]; // move down, aim left
    window.__pad.buttons[7] = { pressed: true, touched: true, value: 1 }; // right trigger
  });
  const after = await waitFor(page, (s) => s.me.y > before.me.y + 120 && s.shotsFired >= before.shotsFired + 2 && s, "the pad moving and firing", 8_000);
  assert.ok(Math.abs(after.me.x - before.me.x) < 1, "down only");
  await page.evaluate(() => {
    window.__pad.axes = [0, 0, 0, 0];
    window.__pad.buttons[7] = { pressed: false, touched: false, value: 0 };
    window.__pad.buttons[8] = { pressed: true, touched: true, value: 1 }; // back: the scoreboard
  });
  await page.waitForSelector("#scoreboard:not(.hidden)");
  assert.deepEqual(errors, []);
  await context.close();
});
