// Shared set-up for the browser tests: a real arena-server (started as a child process on an ephemeral
// port) and real Chromium (Debian's package) driven through playwright-core.
import { after, before } from "node:test";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, "..", "..");
export const artifacts = join(repo, "tests", "artifacts");

/**
 * The server binary: the release build, as players run it (these tests measure timing: a debug build's
 * ticks take ~15 times longer and get preempted mid-tick beside Chromium). `ARENA_SERVER_BIN` overrides.
 */
export function serverBinary() {
  const bin = process.env.ARENA_SERVER_BIN ?? join(repo, "target", "release", "arena-server");
  if (!existsSync(bin)) throw new Error(`${bin} not found: run \`cargo build --release -p arena-server\` first`);
  return bin;
}

/**
 * An assets folder with the shipped tuning and one open map where the two spawn points face each other
 * across the middle, so a test can move and shoot without walls in the way. `maxHealth` changes the
 * ships' health (so a target can take many hits without dying).
 */
export function duelAssets({ maxHealth } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "arena-assets-"));
  mkdirSync(join(dir, "maps"));
  copyFileSync(join(repo, "assets", "tuning.toml"), join(dir, "tuning.toml"));
  if (maxHealth !== undefined) {
    const tuning = readFileSync(join(dir, "tuning.toml"), "utf8");
    if (!/^max_health = \d+$/m.test(tuning)) throw new Error("tuning.toml has no max_health line to change");
    writeFileSync(join(dir, "tuning.toml"), tuning.replace(/^max_health = \d+$/m, `max_health = ${maxHealth}`));
  }
  writeFileSync(
    join(dir, "maps", "duel.toml"),
    [
      "width = 1600.0",
      "height = 1000.0",
      "walls = [[780.0, 100.0, 40.0, 120.0]]",
      "spawn_points = [[500.0, 500.0], [1100.0, 500.0]]",
      "pickups = [[800.0, 900.0]]",
      "",
    ].join("\n"),
  );
  return dir;
}

/**
 * An assets folder with the shipped tuning and maps, but matches of `matchSeconds` with `resultsSeconds`
 * of final scores, so a test sees a whole match.
 */
export function shortMatchAssets({ matchSeconds, resultsSeconds }) {
  const dir = mkdtempSync(join(tmpdir(), "arena-assets-"));
  mkdirSync(join(dir, "maps"));
  for (const map of readdirSync(join(repo, "assets", "maps"))) {
    copyFileSync(join(repo, "assets", "maps", map), join(dir, "maps", map));
  }
  let tuning = readFileSync(join(repo, "assets", "tuning.toml"), "utf8");
  for (const [key, value] of [["length", matchSeconds], ["results", resultsSeconds]]) {
    const line = new RegExp(`^${key} = [0-9.]+$`, "m");
    if (!line.test(tuning)) throw new Error(`tuning.toml has no ${key} line to change`);
    tuning = tuning.replace(line, `${key} = ${value.toFixed(1)}`);
  }
  writeFileSync(join(dir, "tuning.toml"), tuning);
  return dir;
}

/**
 * Starts the server with extra flags; resolves to { url, stop, kill, exited }: `stop` asks it to shut down
 * (SIGTERM), `kill(signal)` sends any signal (SIGKILL for a node that dies), `exited` settles when it is gone.
 */
export async function startServer(args = []) {
  // Replays stay out of the checkout unless a test asks for them.
  const replays = args.includes("--replays") ? [] : ["--replays", "off"];
  const child = spawn(serverBinary(), ["--addr", "127.0.0.1:0", "--seed", "1", ...replays, ...args], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start in 10 s")), 10_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) resolve(m[1].replace(/\/$/, ""));
      else reject(new Error(`unexpected first line: ${line}`));
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  lines.on("line", () => {});
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    url,
    stop: () => {
      child.kill("SIGTERM");
    },
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited,
  };
}

/** Launches headless Chromium with the flags this sandbox needs (no network but loopback). */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} not found: install Debian's chromium (tests/all.sh does)`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-renderer-backgrounding",
      "--disable-background-timer-throttling",
      "--disable-backgrounding-occluded-windows",
    ],
  });
}

/** A page in its own browser context (its own window), collecting console errors. */
export async function openPage(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto(url);
  return { page, errors };
}

export const state = (page) => page.evaluate(() => window.__arena.state());
export const netStats = (page) => page.evaluate(() => window.__arena.netStats());

/** Polls `check(state)` on a page until it returns a truthy value. */
export async function waitFor(page, check, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await state(page);
    const result = check(last);
    if (result) return result;
    await page.waitForTimeout(50);
  }
  throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(last)}`);
}

export function saveDir() {
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}

/**
 * The usual setting of a test file: before its tests, a server started with `args` and a browser; after
 * them, both stopped. Returns where they are (`env.server`, `env.browser`) once `before` has run.
 */
export function serverAndBrowser(args) {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await startServer(args);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    env.server?.stop();
  });
  return env;
}
