// The live server page in real Chromium: behind --status-token it asks for the token; with it, it
// lists a public room of fighting bots (with its code, players and phase) and a private room (without
// its code), and its charts move on as samples come in every second.
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
  server = await startServer(["--status-token", "s3cret"]);
  browser = await launchBrowser();
});

after(async () => {
  bots?.kill("SIGTERM");
  await browser?.close();
  server?.stop();
});

test("the status page lists the rooms and its charts update", async () => {
  const botsBin = process.env.ARENA_BOTS_BIN ?? join(repo, "target", "release", "arena-bots");
  assert.ok(existsSync(botsBin), `${botsBin} not found: run \`cargo build --release -p arena-tests --bins\` first`);
  bots = spawn(botsBin, ["--url", `${server.url.replace("http", "ws")}/ws`, "--count", "6", "--duration", "30s", "--behavior", "fight"], { stdio: "ignore" });
  const host = await openPage(browser, `${server.url}/`);
  await host.page.fill("#name", "Host");
  await host.page.click("#create-room");
  const privateRoom = await waitFor(host.page, (s) => s.room, "a private room");

  // Without the token: a clear message, no figures.
  const locked = await openPage(browser, `${server.url}/status`);
  const refused = await waitFor(locked.page, (s) => s.screen === "status" && s.error && s, "the token message");
  assert.match(refused.error, /needs its token/);
  assert.equal(refused.updates, 0);

  const { page, errors } = await openPage(browser, `${server.url}/status?token=s3cret`);
  const first = await waitFor(
    page,
    (s) => s.screen === "status" && s.rooms.length === 2 && s.rooms[0].players >= 6 && s.rooms[0].phase === "playing" && s,
    "the bots' room playing, and the private room",
    15_000,
  );
  assert.equal(first.rooms[0].public, true);
  assert.ok(/^[A-Z]{5}$/.test(first.rooms[0].code), JSON.stringify(first.rooms[0]));
  assert.deepEqual([first.rooms[1].code, first.rooms[1].public, first.rooms[1].players], [null, false, 1]);
  assert.ok(!(await page.innerText("body")).includes(privateRoom), "the private room's code is on the page");
  const rows = await page.$$eval("#status-rooms tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.equal(rows.length, 2);
  assert.equal(rows[0][0], first.rooms[0].code);
  assert.equal(rows[1][0], "private");

  // The charts move on: a later sample arrives, with the bots' ticks and traffic in it.
  const later = await waitFor(page, (s) => s.lastSample && s.lastSample.at_s >= first.lastSample.at_s + 2 && s, "two more samples", 10_000);
  assert.ok(later.updates >= first.updates + 2);
  assert.ok(later.lastSample.ticks > 0 && later.lastSample.bytes_out > 0 && later.lastSample.players >= 7, JSON.stringify(later.lastSample));
  const drawn = await page.$eval("#chart-tick", (c) => {
    const ctx = c.getContext("2d");
    const { data } = ctx.getImageData(0, 0, c.width, c.height);
    let coloured = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] !== 0x0b || data[i + 1] !== 0x0e || data[i + 2] !== 0x14) coloured += 1;
    return coloured;
  });
  assert.ok(drawn > 200, `the tick chart has ${drawn} drawn pixels`);
  await page.screenshot({ path: join(saveDir(), "status.png"), fullPage: true });
  assert.deepEqual(errors, []);
  assert.deepEqual(host.errors, []);
});
