// The replay viewer: one recorded match, played from its file with live play's decoder, interpolation
// and renderer. Play/pause, a seek bar with a marker per kill, speeds 0.25× to 4×, following a player
// (the camera and their health), the scoreboard and kill feed at the current time, keyboard shortcuts
// and a link to the current moment (`#replay/ID@t=SECONDS`). Once the file is downloaded it needs the
// server no more.
import { buildTimeline, frameAt, secondsAt, type Timeline, tickAt, viewAt } from "./playback";
import type { Ship } from "./protocol";
import { FOLLOW_ZOOM, type Renderer, type ShipView } from "./render";
import { ReplayError, readReplay } from "./replay";
import { el, fillScores, formatClock, rankScores, type ScoreRow, setText, show, toast } from "./ui";

/** The speeds offered, slowest first (↑ and ↓ step through them). */
export const SPEEDS = [0.25, 0.5, 1, 2, 4] as const;
/** How far ← and → seek, seconds. */
const SEEK_STEP_S = 5;
/** How long a kill stays in the feed, seconds of the match. */
const FEED_S = 5;
/** While a just-finished match's file is still being written, the viewer asks again for this long. */
const NOT_YET_RETRY_MS = 6000;

/** A link to a replay (and a moment in it): `#replay/ID` or `#replay/ID@t=83`. */
export function replayHash(id: string, seconds?: number): string {
  return seconds === undefined ? `#replay/${id}` : `#replay/${id}@t=${Math.floor(seconds)}`;
}

/** Reads `#replay/ID@t=83` (the time is optional); null for any other hash. */
export function parseReplayHash(hash: string): { id: string; seconds: number } | null {
  const m = /^#replay\/([A-Za-z0-9-]{1,64})(?:@t=(\d+(?:\.\d+)?))?$/.exec(hash);
  if (!m) return null;
  return { id: m[1]!, seconds: m[2] === undefined ? 0 : Number(m[2]) };
}

export class Viewer {
  private timeline: Timeline | null = null;
  /** The (fractional) tick being shown. */
  private tick = 0;
  private playing = false;
  private speed = 1;
  /** The player the camera follows; null for the whole arena. */
  private following: number | null = null;
  private lastFrame = 0;
  private stopped = false;
  private error = "";
  /** Ships drawn in the last frame, for the test hook. */
  private drawn = 0;
  private readonly keys = (e: KeyboardEvent) => this.onKey(e);

  constructor(
    private readonly id: string,
    private readonly startSeconds: number,
    private readonly renderer: Renderer,
    private readonly onExit: () => void,
  ) {
    show("viewer-error", false);
    setText("viewer-title", `Replay ${id}`);
    setText("viewer-time", "");
    el("viewer-marks").replaceChildren();
    el("viewer-scores").replaceChildren();
    el("viewer-feed").replaceChildren();
    el("viewer-back").onclick = () => this.exit();
    el("viewer-error-back").onclick = () => this.exit();
    // Buttons and the seek bar give the focus back once used, so Space and the arrows stay shortcuts
    // (a focused button would take Space as a click of its own).
    el("viewer-play").onclick = () => {
      this.setPlaying(!this.playing);
      unfocus();
    };
    el("viewer-share").onclick = () => {
      this.share();
      unfocus();
    };
    const seek = el<HTMLInputElement>("viewer-seek");
    seek.oninput = () => this.seek(Number(seek.value));
    seek.onchange = unfocus;
    const speed = el<HTMLSelectElement>("viewer-speed");
    speed.replaceChildren(...SPEEDS.map((s) => new Option(`${s}×`, String(s))));
    speed.value = "1";
    speed.onchange = () => {
      this.setSpeed(Number(speed.value));
      unfocus();
    };
    const follow = el<HTMLSelectElement>("viewer-follow");
    follow.onchange = () => {
      this.follow(follow.value === "" ? null : Number(follow.value));
      unfocus();
    };
    window.addEventListener("keydown", this.keys);
    void this.load();
    requestAnimationFrame((t) => this.frame(t));
  }

  /** Downloads and decodes the file; a clear message in the page for anything that goes wrong. */
  private async load(): Promise<void> {
    try {
      const file = await this.download();
      if (this.stopped) return;
      const timeline = buildTimeline(readReplay(file));
      this.timeline = timeline;
      this.tick = tickAt(timeline, this.startSeconds);
      this.setupControls(timeline);
      // A link to the very end opens there, paused.
      this.setPlaying(this.tick < timeline.lastTick);
    } catch (err) {
      if (this.stopped) return;
      this.fail(err instanceof ReplayError || err instanceof NotFound ? err.message : `could not load: ${String(err)}`);
    }
  }

  /** The file, asking again for a few seconds while a match that just ended is still being saved. */
  private async download(): Promise<Uint8Array> {
    const deadline = performance.now() + NOT_YET_RETRY_MS;
    for (;;) {
      if (this.stopped) throw new NotFound("stopped");
      const res = await fetch(`/replays/${encodeURIComponent(this.id)}`);
      if (res.ok) return new Uint8Array(await res.arrayBuffer());
      if (res.status !== 404) throw new Error(`the server answered HTTP ${res.status}`);
      if (performance.now() >= deadline) throw new NotFound(`There is no replay ${this.id} on this server.`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private fail(message: string): void {
    this.error = message;
    this.playing = false;
    setText("viewer-error-text", message);
    show("viewer-error", true);
  }

  private setupControls(t: Timeline): void {
    const seek = el<HTMLInputElement>("viewer-seek");
    seek.min = String(t.firstTick);
    seek.max = String(t.lastTick);
    const span = Math.max(1, t.lastTick - t.firstTick);
    const marks = el("viewer-marks");
    marks.replaceChildren(
      ...t.kills.map((k) => {
        const mark = document.createElement("button");
        mark.className = "kill-mark";
        mark.dataset.tick = String(k.tick);
        mark.style.left = `${((k.tick - t.firstTick) / span) * 100}%`;
        mark.title = `${formatClock(secondsAt(t, k.tick) * 1000)} ${this.name(k.killer)} ✕ ${this.name(k.victim)}`;
        // Two seconds before the kill, to see it coming.
        mark.onclick = () => {
          this.seek(k.tick - 2 * t.header.tick_rate);
          unfocus();
        };
        return mark;
      }),
    );
    const follow = el<HTMLSelectElement>("viewer-follow");
    const whole = new Option("Whole arena", "");
    follow.replaceChildren(
      whole,
      ...[...t.names].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => new Option(name, String(id))),
    );
    const end = t.complete ? "" : " (cut off)";
    // A private room's code would let whoever has the link join that room: only public ones show.
    const room = t.header.public ? ` · room ${t.header.room}` : "";
    setText("viewer-title", `${t.header.map.name}${room} · ${new Date(t.header.started_at_ms).toLocaleString()}${end}`);
  }

  private name(id: number): string {
    return this.timeline?.names.get(id) ?? `#${id}`;
  }

  setPlaying(on: boolean): void {
    const t = this.timeline;
    if (!t) return;
    // Play at the end starts over.
    if (on && this.tick >= t.lastTick) this.tick = t.firstTick;
    this.playing = on;
    setText("viewer-play", on ? "Pause" : "Play");
  }

  seek(tick: number): void {
    const t = this.timeline;
    if (!t || !Number.isFinite(tick)) return;
    this.tick = Math.min(Math.max(tick, t.firstTick), t.lastTick);
  }

  setSpeed(speed: number): void {
    if (!SPEEDS.includes(speed as (typeof SPEEDS)[number])) return;
    this.speed = speed;
    el<HTMLSelectElement>("viewer-speed").value = String(speed);
  }

  follow(id: number | null): void {
    this.following = id;
    el<HTMLSelectElement>("viewer-follow").value = id === null ? "" : String(id);
  }

  private share(): void {
    const t = this.timeline;
    if (!t) return;
    const link = `${location.origin}/${replayHash(this.id, secondsAt(t, this.tick))}`;
    history.replaceState(null, "", link);
    navigator.clipboard?.writeText(link).then(
      () => toast("Link to this moment copied"),
      () => toast(link),
    );
  }

  private onKey(e: KeyboardEvent): void {
    const t = this.timeline;
    const typing = e.target instanceof HTMLSelectElement || (e.target instanceof HTMLInputElement && e.target.type !== "range");
    if (!t || typing || e.ctrlKey || e.metaKey || e.altKey) {
      if (e.code === "Escape") this.exit();
      return;
    }
    const step = SEEK_STEP_S * t.header.tick_rate;
    const i = SPEEDS.indexOf(this.speed as (typeof SPEEDS)[number]);
    switch (e.code) {
      case "Space":
        this.setPlaying(!this.playing);
        break;
      case "ArrowLeft":
        this.seek(this.tick - step);
        break;
      case "ArrowRight":
        this.seek(this.tick + step);
        break;
      case "Home":
        this.seek(t.firstTick);
        break;
      case "End":
        this.seek(t.lastTick);
        break;
      case "ArrowUp":
        this.setSpeed(SPEEDS[Math.min(SPEEDS.length - 1, i + 1)]!);
        break;
      case "ArrowDown":
        this.setSpeed(SPEEDS[Math.max(0, i - 1)]!);
        break;
      case "Digit0":
        this.follow(null);
        break;
      case "Digit1":
      case "Digit2":
      case "Digit3":
      case "Digit4": {
        const rank = Number(e.code.slice(5)) - 1;
        const row = this.ranked()[rank];
        if (row) this.follow(row.id);
        break;
      }
      case "Escape":
        this.exit();
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  /** The scoreboard at the current time, best first. */
  private ranked(): ScoreRow[] {
    const t = this.timeline;
    if (!t) return [];
    return rankScores(t.frames[frameAt(t, this.tick)]!.scores.map(([id, kills, deaths]) => ({ id, kills, deaths, name: this.name(id) })));
  }

  exit(): void {
    this.stop();
    this.onExit();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("keydown", this.keys);
  }

  private frame(now: number): void {
    if (this.stopped) return;
    requestAnimationFrame((next) => this.frame(next));
    const elapsed = this.lastFrame ? Math.min(now - this.lastFrame, 250) : 0;
    this.lastFrame = now;
    const t = this.timeline;
    if (!t) return;
    if (this.playing) {
      this.tick += (elapsed / 1000) * t.header.tick_rate * this.speed;
      if (this.tick >= t.lastTick) {
        this.tick = t.lastTick;
        this.setPlaying(false);
      }
    }
    this.draw(t);
  }

  private draw(t: Timeline): void {
    const view = viewAt(t, this.tick);
    const { frame } = view;
    const followed = view.ships.find((s) => s.id === this.following);
    const ships: ShipView[] = view.ships
      .filter((s) => s.respawnTicks === 0)
      .map((s: Ship) => ({ id: s.id, x: s.x, y: s.y, aim: s.aim, health: s.health, name: this.name(s.id), me: s.id === this.following }));
    this.drawn = ships.length;
    const focus = followed && followed.respawnTicks === 0 ? { x: followed.x, y: followed.y, zoom: FOLLOW_ZOOM } : undefined;
    this.renderer.resize(t.header.map, focus);
    this.renderer.draw({
      map: t.header.map,
      tuning: t.header.tuning,
      ships,
      projectiles: view.projectiles.map((p) => ({ x: p.x, y: p.y, owner: p.owner })),
      pickups: frame.snapshot.pickups,
    });
    // The HUD: clock, phase, the followed player's health, the seek bar, scores and the feed.
    const tickMs = 1000 / t.header.tick_rate;
    const phase = { warmup: "Warm-up", playing: "Match", results: "Match over" }[frame.snapshot.phase];
    setText("viewer-phase", phase);
    setText("viewer-clock", frame.snapshot.endsTick > 0 ? formatClock((frame.snapshot.endsTick - this.tick) * tickMs) : "");
    const total = (t.lastTick - t.firstTick) * tickMs;
    setText("viewer-time", `${formatClock(secondsAt(t, this.tick) * 1000)} / ${formatClock(total)}`);
    const seek = el<HTMLInputElement>("viewer-seek");
    if (document.activeElement !== seek) seek.value = String(this.tick);
    setText(
      "viewer-follow-health",
      followed ? `${this.name(followed.id)} ${followed.respawnTicks > 0 ? "· respawning" : `♥ ${followed.health}`}` : "",
    );
    this.renderBoard();
    this.renderFeed(t);
  }

  private renderBoard(): void {
    const body = el("viewer-scores");
    const rows = this.ranked();
    const key = JSON.stringify([rows, this.following]);
    if (body.dataset.key === key) return;
    body.dataset.key = key;
    fillScores(body, rows, this.following, (id) => this.follow(id === this.following ? null : id));
  }

  private renderFeed(t: Timeline): void {
    const since = this.tick - FEED_S * t.header.tick_rate;
    const recent = t.kills.filter((k) => k.tick <= this.tick && k.tick > since).slice(-5).reverse();
    const feed = el("viewer-feed");
    const key = recent.map((k) => `${k.tick}:${k.killer}:${k.victim}`).join(",");
    if (feed.dataset.key === key) return;
    feed.dataset.key = key;
    feed.replaceChildren(
      ...recent.map((k) => {
        const li = document.createElement("li");
        li.textContent = `${this.name(k.killer)} ✕ ${this.name(k.victim)}`;
        return li;
      }),
    );
  }

  /** The state tests read through `window.__arena.state()`. */
  debugState() {
    const t = this.timeline;
    return {
      screen: "replay" as const,
      id: this.id,
      loaded: t !== null,
      error: this.error,
      playing: this.playing,
      speed: this.speed,
      tick: this.tick,
      firstTick: t?.firstTick ?? null,
      lastTick: t?.lastTick ?? null,
      seconds: t ? secondsAt(t, this.tick) : null,
      /** The tick of the snapshot the view is drawn from (the last at or before `tick`). */
      shownTick: t ? t.frames[frameAt(t, this.tick)]!.tick : null,
      following: this.following,
      kills: t?.kills.map((k) => k.tick) ?? [],
      drawn: this.drawn,
      complete: t?.complete ?? null,
    };
  }
}

function unfocus(): void {
  if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
}

/** The server has no replay of that id (after waiting for one being saved). */
class NotFound extends Error {}
