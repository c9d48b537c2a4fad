// Netcode quality under a simulated bad link: the server adds 100 ms ± 20 ms to every message in each
// direction. Player A moves in a square while B watches. Reported (and bounded by the ship's radius):
// - A's own-ship corrections: how far each reconciliation moved A's predicted ship;
// - B's remote-ship error: how far B drew A from the server's positions for the time B was showing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { duelAssets, netStats, openPage, serverAndBrowser, state, waitFor } from "./harness.mjs";

const env = serverAndBrowser(["--assets", duelAssets(), "--map", "duel", "--sim-latency", "100ms", "--sim-jitter", "20ms"]);

test("prediction and interpolation stay within a ship's radius at 100 ms ± 20 ms", async () => {
  const a = await openPage(env.browser, `${env.server.url}/`);
  await a.page.fill("#name", "Mover");
  await a.page.click("#create-room");
  const room = await waitFor(a.page, (s) => s.room, "room created", 15_000);
  const b = await openPage(env.browser, `${env.server.url}/#${room}`);
  await waitFor(b.page, (s) => s.ships.length === 2 && s.phase === "playing", "two ships, match on", 15_000);
  await waitFor(a.page, (s) => s.phase === "playing" && s.me, "A playing", 15_000);
  await a.page.waitForTimeout(500);

  for (let lap = 0; lap < 3; lap++) {
    for (const key of ["KeyW", "KeyD", "KeyS", "KeyA"]) {
      await a.page.keyboard.down(key);
      await a.page.waitForTimeout(600);
      await a.page.keyboard.up(key);
    }
  }
  await a.page.waitForTimeout(500);

  const mover = await netStats(a.page);
  const watcher = await netStats(b.page);
  const report = {
    link: "100ms ± 20ms each way",
    ship_radius: mover.shipRadius,
    own_correction: mover.corrections,
    remote_error: watcher.remoteError,
    ping_ms: Math.round((await state(a.page)).ping),
    render_delay_ms: Math.round(watcher.renderDelayMs),
    jitter_ms: Math.round(watcher.jitterMs),
  };
  console.log(`netcode report: ${JSON.stringify(report)}`);
  assert.ok(report.ping_ms >= 160, `the link conditioner is on: ping ${report.ping_ms} ms`);
  assert.ok(mover.corrections.count > 50, "A reconciled with many snapshots");
  assert.ok(watcher.remoteError.count > 200, "B drew A many times");
  assert.ok(mover.corrections.p99 < mover.shipRadius, `own-ship correction p99 ${mover.corrections.p99}`);
  assert.ok(watcher.remoteError.p99 < mover.shipRadius, `remote error p99 ${watcher.remoteError.p99}`);
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
});
