// A full room on the default map: fighting bots and one browser player. Saves the screenshots the README
// shows, and checks the page stays healthy with a crowd (no console errors, a steady frame rate).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, openPage, repo, saveDir, startServer, state, waitFor } from "./harness.mjs";

let server;
let browser;
let bots;

before(async () => {
  server = await startServer([]);
  browser = await launchBrowser();
});

after(async () => {
  bots?.kill("SIGTERM");
  await browser?.close();
  server?.stop();
});

test("a browser player joins a room of fighting bots", async () => {
  // The release build, like the server beside it (tests/all.sh builds both before the browser tests).
  const botsBin = process.env.ARENA_BOTS_BIN ?? join(repo, "target", "release", "arena-bots");
  assert.ok(existsSync(botsBin), `${botsBin} not found: run \`cargo build --release -p arena-tests --bins\` first`);
  const wsUrl = `${server.url.replace("http", "ws")}/ws`;
  bots = spawn(botsBin, ["--url", wsUrl, "--count", "7", "--duration", "30s", "--behavior", "fight"], {
    stdio: "ignore",
  });
  // Quick play puts the browser player in the bots' room (the fullest public room).
  await new Promise((r) => setTimeout(r, 1500));
  const { page, errors } = await openPage(browser, `${server.url}/`);
  await waitFor(page, (s) => s.screen === "landing", "the landing page");
  await page.waitForSelector("#rooms li button");
  await page.screenshot({ path: join(saveDir(), "landing.png") });
  await page.fill("#name", "You");
  await page.click("#quick-play");
  await waitFor(page, (s) => s.ships.length >= 8 && s.phase === "playing", "a full match", 15_000);
  await page.mouse.move(900, 300);
  await page.waitForTimeout(3000);
  const s = await state(page);
  assert.ok(s.fps > 30, `frame rate ${s.fps}`);
  await page.screenshot({ path: join(saveDir(), "crossroads.png") });
  await page.keyboard.down("Tab");
  await page.screenshot({ path: join(saveDir(), "crossroads-scores.png") });
  await page.keyboard.up("Tab");
  assert.deepEqual(errors, []);
});
