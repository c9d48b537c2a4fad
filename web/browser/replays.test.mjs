// Recorded matches in the browser: a player plays a short match against fighting bots on a server that
// records it; at the final scores the page offers the replay, which opens in the viewer. The Replays
// screen lists it too. In the viewer: seeking to the middle shows the middle tick, the kill markers are
// the file's kills (as `arena-replay export` reads them), 4× plays four times as many ticks a second as
// 1×, following a player works from the keyboard, a shared link opens at its moment, and an unknown
// replay says so. The pages log no error.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, openPage, repo, saveDir, shortMatchAssets, startServer, state, waitFor } from "./harness.mjs";

const MATCH_SECONDS = 20;

let server;
let browser;
let bots;
let replays;

before(async () => {
  replays = mkdtempSync(join(tmpdir(), "arena-replays-"));
  server = await startServer([
    "--assets", shortMatchAssets({ matchSeconds: MATCH_SECONDS, resultsSeconds: 6 }), "--replays", replays,
  ]);
  browser = await launchBrowser();
});

after(async () => {
  bots?.kill("SIGTERM");
  await browser?.close();
  server?.stop();
});

/** `arena-replay`, built beside the server binary. */
function arenaReplay(...args) {
  const bin = join(dirname(process.env.ARENA_SERVER_BIN ?? join(repo, "target", "release", "arena-server")), "arena-replay");
  assert.ok(existsSync(bin), `${bin} not found: build the release binaries first`);
  return execFileSync(bin, args, { encoding: "utf8" });
}

/** Ticks the viewer plays in about a second of the page's own time. */
async function ticksPerSecond(page) {
  return page.evaluate(async () => {
    const a = window.__arena.state();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    const b = window.__arena.state();
    return (b.tick - a.tick) / ((performance.now() - t0) / 1000);
  });
}

test("a match is recorded, offered at its end, listed, and watched with seeking, kill markers, speeds and links", async () => {
  const botsBin = process.env.ARENA_BOTS_BIN ?? join(repo, "target", "release", "arena-bots");
  assert.ok(existsSync(botsBin), `${botsBin} not found: run \`cargo build --release -p arena-tests --bins\` first`);
  const wsUrl = `${server.url.replace("http", "ws")}/ws`;
  bots = spawn(botsBin, ["--url", wsUrl, "--count", "5", "--duration", "60s", "--behavior", "fight"], { stdio: "ignore" });

  // A player joins the bots' room and stays to the final scores, where the page offers the replay.
  const { page, errors } = await openPage(browser, `${server.url}/`);
  await page.waitForSelector("#rooms li button");
  await page.fill("#name", "Viewer");
  await page.click("#quick-play");
  await waitFor(page, (s) => s.phase === "playing" && s.ships.length >= 6, "a match with the bots", 15_000);
  const offered = await waitFor(page, (s) => s.phase === "results" && s.replay && s, "the replay offered at the end", (MATCH_SECONDS + 10) * 1000);
  // The scoreboard is drawn on the next animation frame after the state says "results".
  const shown = await page.waitForSelector("#watch-again-link", { state: "visible", timeout: 3000 }).then(() => true, () => false);
  assert.ok(shown, "the final scores show the link");
  await page.click("#watch-again-link");
  const loaded = await waitFor(page, (s) => s.screen === "replay" && s.loaded && s, "the viewer with the match", 15_000);
  assert.equal(loaded.id, offered.replay);
  assert.equal(loaded.complete, true);

  // The Replays screen lists it; Watch opens it.
  await page.click("#viewer-back");
  await page.waitForSelector(`#replay-list tr[data-id="${offered.replay}"] button`);
  await page.click(`#replay-list tr[data-id="${offered.replay}"] button`);
  const v = await waitFor(page, (s) => s.screen === "replay" && s.loaded && s, "the viewer from the list", 15_000);
  assert.equal(v.id, offered.replay);

  // The kill markers are the file's kills.
  const exported = JSON.parse(arenaReplay("export", join(replays, `${v.id}.arena-replay`), "--json"));
  const fileKills = exported.events.filter((e) => e.e === "kill").map((e) => e.at_tick);
  assert.ok(fileKills.length > 0, "the bots killed one another");
  const marks = await page.$$eval(".kill-mark", (all) => all.map((m) => Number(m.dataset.tick)));
  assert.deepEqual(marks, fileKills);
  assert.deepEqual(v.kills, fileKills);

  // Pause (Space), then click the middle of the seek bar: the middle tick is shown.
  await page.keyboard.press("Space");
  await waitFor(page, (s) => !s.playing, "paused");
  const bar = await page.locator("#viewer-seek").boundingBox();
  await page.mouse.click(bar.x + bar.width / 2, bar.y + bar.height / 2);
  const mid = (v.firstTick + v.lastTick) / 2;
  const seeked = await state(page);
  assert.ok(Math.abs(seeked.tick - mid) <= (v.lastTick - v.firstTick) * 0.02, `at 50%: tick ${seeked.tick}, middle ${mid}`);
  assert.ok(Math.abs(seeked.shownTick - seeked.tick) <= exported.tick_rate / 30 + 1, "the frame shown is the one at that tick");
  await page.screenshot({ path: join(saveDir(), "replay-viewer.png") });

  // Back to the start, play at 1×, then at 4× (↑ twice): four times the ticks a second.
  await page.keyboard.press("Home");
  await waitFor(page, (s) => s.tick === s.firstTick, "back at the start");
  await page.keyboard.press("Space");
  await waitFor(page, (s) => s.playing && s.speed === 1, "playing at 1×");
  const normal = await ticksPerSecond(page);
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("ArrowUp");
  await waitFor(page, (s) => s.speed === 4, "4×");
  const fast = await ticksPerSecond(page);
  assert.ok(Math.abs(normal - exported.tick_rate) < exported.tick_rate * 0.2, `1× plays ${normal} ticks/s`);
  assert.ok(fast / normal > 3.4 && fast / normal < 4.6, `4× plays ${fast} ticks/s against ${normal}`);

  // 1 follows the leader; 0 shows the whole arena again.
  await page.keyboard.press("Digit1");
  const followed = await waitFor(page, (s) => s.following !== null && s, "following the leader");
  assert.equal(await page.inputValue("#viewer-follow"), String(followed.following));
  await page.screenshot({ path: join(saveDir(), "replay-follow.png") });
  await page.keyboard.press("Digit0");
  await waitFor(page, (s) => s.following === null, "the whole arena");
  assert.deepEqual(errors, [], "console errors in the match and the viewer");

  // A shared link opens at its moment.
  const shared = await openPage(browser, `${server.url}/#replay/${v.id}@t=12`);
  const at = await waitFor(shared.page, (s) => s.screen === "replay" && s.loaded && s, "the shared moment", 15_000);
  assert.ok(at.seconds >= 12 && at.seconds < 14, `opened at ${at.seconds} s`);
  assert.deepEqual(shared.errors, []);

  // An unknown replay says so in the page.
  const missing = await openPage(browser, `${server.url}/#replay/20260101-000000-nothere`);
  const failed = await waitFor(missing.page, (s) => s.screen === "replay" && s.error && s, "the not-found message", 15_000);
  assert.match(failed.error, /no replay 20260101-000000-nothere/);
  assert.ok(await missing.page.isVisible("#viewer-error"));
});
