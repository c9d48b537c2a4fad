// Lag compensation in the browser: the server adds 100 ms ± 20 ms to every message in each direction.
// Player B flies up and down across A's screen at full speed (keys held); player A, 300 units away,
// holds the mouse button while B crosses at full speed (firing on cooldown) and keeps the real mouse on
// where its page draws B, led by the shot's flight time at B's drawn velocity, as a player aims. Most of A's shots must hit with the server's lag
// compensation on, and most must miss with it off (A then aims ~300 ms behind where the server tests).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { join } from "node:path";
import { duelAssets, launchBrowser, openPage, saveDir, startServer, state, waitFor } from "./harness.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Where to aim from `me` at a target drawn at `t` moving at `v`, for shots at `speed` (a few fixed-point steps). */
function lead(me, t, v, speed) {
  let time = Math.hypot(t.x - me.x, t.y - me.y) / speed;
  for (let i = 0; i < 3; i++) time = Math.hypot(t.x + v.vx * time - me.x, t.y + v.vy * time - me.y) / speed;
  return { x: t.x + v.vx * time, y: t.y + v.vy * time };
}

/** Plays one duel on a server with `--lag-compensation mode`; returns A's shots and hits. */
async function duel(mode) {
  const server = await startServer([
    // Health for 400 hits: B never dies, so every shot is at a ship crossing at full speed.
    "--assets", duelAssets({ maxHealth: 10000 }), "--map", "duel", "--sim-latency", "100ms", "--sim-jitter", "20ms", "--lag-compensation", mode,
  ]);
  try {
    const a = await openPage(browser, `${server.url}/`);
    await a.page.fill("#name", "Shooter");
    await a.page.click("#create-room");
    const room = await waitFor(a.page, (s) => s.room, "room created", 15_000);
    const b = await openPage(browser, `${server.url}/#${room}`);
    await waitFor(b.page, (s) => s.phase === "playing" && s.me, "B playing", 15_000);
    await waitFor(a.page, (s) => s.phase === "playing" && s.me && s.drawn.length === 1, "A playing, B drawn", 15_000);
    const projectileSpeed = 900; // assets/tuning.toml
    const maxSpeed = 320;
    // A closes in to 300 units (a flight of a third of a second), then holds still.
    const start = await state(a.page);
    const toward = start.drawn[0].x > start.me.x ? "KeyD" : "KeyA";
    await a.page.keyboard.down(toward);
    await waitFor(a.page, (s) => s.me && s.drawn[0] && Math.abs(s.drawn[0].x - s.me.x) <= 300, "A in range", 10_000);
    await a.page.keyboard.up(toward);
    await a.page.waitForTimeout(600);
    // B: down for 1 s, then up and down for 2 s each, at full speed, in the background.
    let flying = true;
    const strafe = (async () => {
      let key = "KeyS";
      let hold = 1000;
      while (flying) {
        await b.page.keyboard.down(key);
        await b.page.waitForTimeout(hold);
        await b.page.keyboard.up(key);
        key = key === "KeyS" ? "KeyW" : "KeyS";
        hold = 2000;
      }
    })();
    await a.page.waitForTimeout(1000);
    const before = await state(a.page);
    // A: aim at B as drawn, led, with the button held while B is drawn crossing at full speed (not while
    // it turns), for 10 s.
    let held = false;
    let shot = false;
    const aimAt = async () => {
      const s = await state(a.page);
      if (!shot && s.hitsConfirmed > before.hitsConfirmed) {
        // The hit marker and flash, for the README and for people to look at.
        shot = true;
        await a.page.screenshot({ path: join(saveDir(), `lagcomp-hit-${mode}.png`) });
      }
      const target = s.drawn[0];
      const crossing = target && Math.hypot(target.vx, target.vy) >= 0.9 * maxSpeed;
      if (s.me && target) {
        const p = lead(s.me, target, target, projectileSpeed);
        const at = await a.page.evaluate(([x, y]) => window.__arena.screenPosition(x, y), [p.x, p.y]);
        await a.page.mouse.move(at.x, at.y);
      }
      if (crossing && !held) await a.page.mouse.down();
      if (!crossing && held) await a.page.mouse.up();
      held = Boolean(crossing);
    };
    const until = Date.now() + 10_000;
    while (Date.now() < until) await aimAt();
    if (held) await a.page.mouse.up();
    flying = false;
    await strafe;
    await a.page.waitForTimeout(1500); // the last shots land and their hits arrive
    const end = await state(a.page);
    // The server's own count: shots rewound, and how many the cap cut short (those are tested too
    // recently and mostly miss).
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const count = (name) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(metrics)?.[1] ?? 0);
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    await a.page.context().close();
    await b.page.context().close();
    return {
      shots: end.shotsFired - before.shotsFired,
      hits: end.hitsConfirmed - before.hitsConfirmed,
      ping: Math.round(end.ping),
      server: { shots: count("arena_shots_total"), rewound: count("arena_shots_rewound_total"), capped: count("arena_shots_rewind_capped_total") },
    };
  } finally {
    server.stop();
  }
}

test("at 100 ms ± 20 ms, shots aimed where the page draws a crossing ship hit with lag compensation, and miss without", async () => {
  const on = await duel("on");
  const off = await duel("off");
  console.log(`lag compensation report: ${JSON.stringify({ link: "100ms ± 20ms each way", on, off })}`);
  assert.ok(on.ping >= 160 && off.ping >= 160, `the link conditioner is on: ping ${on.ping} / ${off.ping} ms`);
  assert.ok(on.shots >= 20 && off.shots >= 20, `A fired on cooldown: ${on.shots} / ${off.shots} shots`);
  assert.ok(on.hits > on.shots / 2, `with compensation most shots hit: ${on.hits} of ${on.shots}`);
  assert.ok(off.hits < off.shots / 2, `without, most miss: ${off.hits} of ${off.shots}`);
});
