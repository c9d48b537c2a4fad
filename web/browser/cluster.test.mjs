// A cluster in real Chromium: in each test, a Redis of the test's own and two nodes sharing it (`--redis`).
// - Ada opens node 1's page and creates a private room; Grace opens the invite link on node 2's address,
//   is handed off to node 1 (her socket goes there) and they play together; an operators' notice posted
//   to node 1 reaches both, as text.
// - A node killed with SIGKILL: a player whose page is on the other node is told so within seconds (not
//   after the whole reconnect grace), and Quick play takes her to the node that served her page.
// - A node stopped with SIGTERM drains: its players, whose pages are on either node, are moved to the
//   other node and play there.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, afterEach, before, test } from "node:test";
import { duelAssets, launchBrowser, openPage, saveDir, startServer, state, waitFor } from "./harness.mjs";

const ADMIN_TOKEN = "secret";

let browser;
/** The test's Redis and nodes, stopped after it whatever happened. */
let processes = [];

/** A port nothing listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts Debian's redis-server on a free port, with nothing saved to disk; resolves to { url, kill, exited }. */
async function startRedis() {
  const port = await freePort();
  const child = spawn(process.env.REDIS_SERVER ?? "/usr/bin/redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start in 10 s")), 10_000);
    lines.on("line", (line) => {
      if (/ready to accept connections/i.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
    child.once("error", reject);
  });
  const exited = new Promise((resolve) => child.once("exit", () => resolve()));
  const redis = {
    url: `redis://127.0.0.1:${port}`,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    exited,
  };
  processes.push(redis);
  return redis;
}

/** Starts a node of a cluster; its `ws` is its game socket's address. */
async function startNode(redis, id, extra = []) {
  const node = await startServer(["--assets", duelAssets(), "--map", "duel", "--redis", redis.url, "--node-id", id, "--drain-timeout", "1s", ...extra]);
  processes.push(node);
  return { ...node, id, ws: `${node.url.replace(/^http/, "ws")}/ws` };
}

/** A Redis and two nodes that know each other (each lists both), so either can hand a player to the other. */
async function startPair(first, second, extra = []) {
  const redis = await startRedis();
  const one = await startNode(redis, first, extra);
  const two = await startNode(redis, second);
  for (const node of [one, two]) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const listed = await (await fetch(`${node.url}/api/nodes`)).json();
      if (listed.length === 2) break;
      if (Date.now() > deadline) throw new Error(`${node.id} lists ${JSON.stringify(listed)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return [one, two];
}

/** A page of `url` for a player called `name`, with the addresses of every WebSocket it opens. */
async function openWatched(url, name) {
  const p = await openPage(browser, "about:blank");
  // The name the landing screen would have stored: an invite link starts the game before it shows.
  await p.page.addInitScript((n) => localStorage.setItem("arena.name", n), name);
  const sockets = [];
  p.page.on("websocket", (ws) => sockets.push(ws.url()));
  await p.page.goto(url);
  return { ...p, sockets };
}

/** Ada on `node`'s page creates a private room; Grace opens its invite link on `other`'s address. */
async function meet(node, other) {
  const a = await openWatched(`${node.url}/`, "Ada");
  await a.page.click("#create-room");
  const room = await waitFor(a.page, (s) => s.room, "Ada's room", 15_000);
  const invite = (await state(a.page)).inviteLink;
  assert.equal(invite, `${node.url}/#${room}`);
  const b = await openWatched(invite.replace(node.url, other.url), "Grace");
  await waitFor(b.page, (s) => s.room === room && s.ships.length === 2, "Grace in Ada's room", 15_000);
  return { a, b, room };
}

/** Kills every process the test started. */
async function stopAll() {
  const started = processes;
  processes = [];
  for (const p of started) p.kill("SIGKILL");
  await Promise.all(started.map((p) => p.exited));
}

before(async () => {
  browser = await launchBrowser();
});

afterEach(async () => {
  // Pages of the finished test (their sockets would only fail on from here on).
  for (const context of browser?.contexts() ?? []) await context.close();
  await stopAll();
});

after(async () => {
  await browser?.close();
  await stopAll();
});

test("an invite link opened on another node hands the player off; they play together and hear a notice", async () => {
  const [n1, n2] = await startPair("n1", "n2", ["--admin-token", ADMIN_TOKEN]);
  const { a, b, room } = await meet(n1, n2);

  // Grace's page is node 2's; her game went to node 1, where the room is.
  const seenByB = await state(b.page);
  assert.equal(seenByB.server, n1.ws, "Grace's session speaks to node 1");
  assert.deepEqual(b.sockets, [n2.ws, n1.ws], "a socket to node 2, then the hand-off's to node 1");
  assert.deepEqual(a.sockets, [n1.ws]);
  const rooms = await (await fetch(`${n2.url}/api/rooms`)).json();
  assert.ok(!rooms.some((r) => r.code === room && r.node === "n2"), "the private room is not node 2's");

  // Each sees the other's ship; Grace's movement reaches Ada.
  const { playerId: aId } = await state(a.page);
  const { playerId: bId } = seenByB;
  await waitFor(a.page, (s) => s.ships.some((x) => x.id === bId) && s.phase === "playing", "Ada sees Grace's ship, match on", 15_000);
  assert.equal((await state(a.page)).ships.find((x) => x.id === bId).name, "Grace", "the hand-off kept her name");
  await waitFor(b.page, (s) => s.ships.some((x) => x.id === aId) && s.phase === "playing", "Grace sees Ada's ship, match on", 15_000);
  await b.page.waitForTimeout(300); // the match-start respawn settles
  const before = (await state(a.page)).ships.find((s) => s.id === bId);
  const key = before.x < 800 ? "KeyD" : "KeyA";
  await b.page.keyboard.down(key);
  await b.page.waitForTimeout(700);
  await b.page.keyboard.up(key);
  await waitFor(
    a.page,
    (s) => {
      const ship = s.ships.find((x) => x.id === bId);
      return ship && Math.abs(ship.x - before.x) > 100;
    },
    "Grace's ship to move on Ada's screen",
  );

  // An operators' notice, posted to node 1, shown to both as text.
  const text = "Maintenance at 12:00 <b>UTC</b> — back in 5 minutes";
  const res = await fetch(`${n1.url}/api/announce`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ text }),
  });
  assert.equal(res.status, 200, await res.text());
  for (const p of [a, b]) {
    await waitFor(p.page, (s) => s.chat.some((l) => l.kind === "system" && l.text === `Notice: ${text}`), "the notice in the chat log");
    assert.ok(await p.page.isVisible("#notice"), "the notice banner is up");
    assert.equal(await p.page.textContent("#notice"), text);
    assert.equal(await p.page.$$eval("#notice *", (els) => els.length), 0, "the notice's markup stays text");
  }
  await b.page.screenshot({ path: join(saveDir(), "cluster-notice.png") });
  assert.deepEqual(a.errors, [], "console errors on Ada");
  assert.deepEqual(b.errors, [], "console errors on Grace");
});

test("a node that dies is given up on within seconds, and Quick play goes through the page's own node", async () => {
  const [n3, n4] = await startPair("n3", "n4");
  const { a, b } = await meet(n3, n4);
  assert.equal((await state(b.page)).server, n3.ws);

  const killedAt = Date.now();
  n3.kill("SIGKILL");
  await a.page.context().close(); // Ada's page was node 3's: nothing can be done for her
  await waitFor(b.page, (s) => s.reconnecting || s.screen === "landing", "Grace loses her connection");
  await b.page.waitForFunction(() => /went away/.test(document.querySelector("#landing-error")?.textContent ?? ""), null, { timeout: 15_000 });
  const waited = Date.now() - killedAt;
  console.log(`a dead node given up on after ${waited} ms`);
  assert.ok(waited < 12_000, `told after ${waited} ms`);
  assert.ok(await b.page.isVisible("#landing"));
  assert.ok(await b.page.isVisible("#quick-play"));
  await b.page.screenshot({ path: join(saveDir(), "cluster-node-gone.png") });

  await b.page.click("#quick-play");
  const back = await waitFor(b.page, (s) => s.room && s.me && s, "Grace in a room again", 15_000);
  assert.equal(back.server, n4.ws, "quick play went to the page's own node");
});

test("a draining node's players are moved to another node and play on there", async () => {
  const [n5, n6] = await startPair("n5", "n6");
  const { a, b } = await meet(n5, n6);
  // Ada's client keeps the node list from when she joined: her page's node is the one about to go.
  await a.page.waitForTimeout(500);

  n5.stop();
  for (const [p, who] of [[a, "Ada"], [b, "Grace"]]) {
    const moved = await waitFor(p.page, (s) => s.server === n6.ws && s.room && s.me && s, `${who} playing on node 6`, 15_000).catch(async (err) => {
      const landing = await p.page.textContent("#landing-error");
      throw new Error(`${err.message}; the landing screen says ${JSON.stringify(landing)}; console: ${JSON.stringify(p.errors)}`);
    });
    assert.ok(moved.chat.some((l) => l.kind === "system" && /restarting; moving you/.test(l.text)), `${who} was told: ${JSON.stringify(moved.chat)}`);
    assert.equal(p.sockets.at(-1), n6.ws);
  }
  await n5.exited;
  // Ada's page is node 5's, which is gone: her client's asks of it fail, nothing else.
  assert.deepEqual(a.errors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e)), [], "console errors on Ada");
  assert.deepEqual(b.errors, [], "console errors on Grace");
});
