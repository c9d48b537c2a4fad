// One game session: the connection, the fixed-rate input loop with prediction, snapshot interpolation
// for everything else, and the per-frame render. In a cluster the session follows its room from node to
// node: a hand-off, a draining node left for another, a dead node given up on. Exposes its state through
// `debugState()` for tests.
import { ChatBox } from "./chat";
import { Controls } from "./input";
import { SnapshotBuffer } from "./interpolation";
import { MAX_INPUTS_PER_MESSAGE } from "./limits";
import { Connection, wsUrl } from "./net";
import { NodeDirectory, pickNode, sameSocket } from "./nodes";
import { Predictor } from "./prediction";
import {
  FIRE,
  type GameEvent,
  type Input,
  type Joined,
  type ServerMsg,
  type Snapshot,
  SnapshotDecoder,
  type Welcome,
} from "./protocol";
import { colorFor, type EffectView, FOLLOW_ZOOM, type HitMarker, type ProjectileView, Renderer, type ShipView } from "./render";
import type { Sound } from "./sound";
import { flightTicks, shotStep } from "./sim";
import { el, formatClock, notice, pushKillfeed, rankScores, renderScores, setText, show, toast } from "./ui";
import { replayHash } from "./viewer";

export type Entry = { kind: "quick" } | { kind: "create" } | { kind: "join"; code: string } | { kind: "watch"; code: string };

/**
 * A shot of ours drawn before the server confirms it. It flies exactly as the server flies it (the same
 * f32 steps from the same point) and ends on the tick the server's does: after `ticksLeft` more steps.
 */
interface PredictedShot {
  seq: number;
  x: number;
  y: number;
  /** Movement per tick (f32), as the server's `velocity * dt`. */
  stepX: number;
  stepY: number;
  /** Ticks it is still drawn for; 0 means its flight is over. */
  ticksLeft: number;
  confirmed: boolean;
  /** The server's id for it, once a snapshot has shown it. */
  id?: number;
}

/** How long each kind of visual feedback shows, ms. */
const EFFECT_MS: Record<EffectView["kind"], number> = { flash: 90, burst: 600, damage: 700, hurt: 900 };
/** The most effects kept (in a background tab no frame trims them by age). */
const MAX_EFFECTS = 256;
/** Projectile ids remembered for muzzle flashes (new ones flash once). */
const SEEN_SHOTS = 512;

/** The smallest scale the arena is drawn at, CSS pixels per unit: below it, the camera follows. */
const MIN_SCALE = 0.6;

/** How long a confirmed hit's marker and flash show, ms. */
const HIT_MARKER_MS = 300;

/** Most render samples kept for measuring interpolation error. */
const ERROR_SAMPLES = 4000;

/**
 * Hand-offs in a row without a room: a node hands off to the one holding the seat, which seats the
 * ticket itself, so more than one means nodes disagree; a few are followed, not a loop.
 */
const MAX_HANDOFFS = 3;

/** The least time between two asks whether a lost node is still listed (one per reconnect attempt would be two a second). */
const NODE_CHECK_MS = 1000;

/** What the player is told when the node their match was on is gone for good. */
const NODE_GONE = "The server your match was on went away. Quick play finds you a new game.";

export class Game {
  private readonly conn: Connection;
  private welcome: Welcome | null = null;
  private joined: Joined | null = null;
  private predictor: Predictor | null = null;
  private buffer: SnapshotBuffer | null = null;
  /** Rebuilds snapshots from keyframes and deltas; a new one for each room joined. */
  private decoder: SnapshotDecoder | null = null;
  private readonly names = new Map<number, string>();
  private seq = 0;
  /** Inputs sampled but not sent yet: the server asks for `input_batch` ticks' inputs per message. */
  private outgoing: Input[] = [];
  private lastFireSeq = Number.NEGATIVE_INFINITY;
  private shots: PredictedShot[] = [];
  private acc = 0;
  private lastFrame = 0;
  private frames = 0;
  private fpsSince = 0;
  fps = 0;
  ping = 0;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private reconnecting = false;
  private alpha = 0;
  private stopped = false;
  private remoteSamples: { tick: number; id: number; x: number; y: number }[] = [];
  /** The latest scores ([id, kills, deaths]); snapshots carry them only when they change. */
  private scores: [number, number, number][] = [];
  private lastAim = 0;
  /** One's own hits the server confirmed: the ship hit and when the `hit` arrived. */
  private hitMarks: { target: number; at: number }[] = [];
  private hitsConfirmed = 0;
  private shotsFired = 0;
  /** The other ships as the last frame drew them (for tests that aim as a player does). */
  private drawn: { id: number; x: number; y: number; vx: number; vy: number }[] = [];
  /** The last room request sent (a seat or a spectator's place), to know what a refusal refused. */
  private asked: { t: "join_room" | "watch"; code: string } | null = null;
  /** Watching, not playing (no ship): the camera may follow a player. */
  private spectating = false;
  /** The player a spectator's camera follows; null for the whole arena. */
  private following: number | null = null;
  /** The replay of the last match played here, once the server has saved it. */
  private replay: string | null = null;
  /** The time of the frame being drawn (the inputs sampled in it say what it shows). */
  private frameTime = 0;
  readonly consoleErrors: string[] = [];
  private readonly chat: ChatBox;
  private readonly keys = (e: KeyboardEvent) => this.onKey(e);
  /** Visual feedback in flight: muzzle flashes, death bursts, damage numbers, who hit us. */
  private effects: (Omit<EffectView, "age"> & { at: number })[] = [];
  private seenShots = new Set<number>();
  /** One's own health in the last snapshot, to hear a pickup. */
  private lastHealth: number | null = null;
  /** The cluster's nodes, for leaving a draining or dead one. */
  private readonly nodes = new NodeDirectory();
  /** Hand-offs followed since the last room joined. */
  private handoffs = 0;
  /** A hand-off's ticket is on its way in the hello: the node places us itself (no request after the welcome). */
  private ticketSent = false;
  /** When the lost node may next be looked up, and whether a look-up is under way. */
  private nodeCheckAt = 0;
  private nodeChecking = false;
  /** Moving off a draining node: until the next node's welcome, a drop means it would not take us. */
  private relocating = false;

  constructor(
    private readonly name: string,
    private entry: Entry,
    private readonly controls: Controls,
    private readonly renderer: Renderer,
    private readonly sound: Sound,
    private readonly onExit: (reason: string) => void,
  ) {
    this.conn = new Connection(wsUrl(), name, {
      message: (m) => this.onMessage(m),
      dropped: (retry, reason) => this.onDropped(retry, reason),
      reopened: () => undefined,
    });
    window.addEventListener("keydown", this.keys);
    el("spectate-join").onclick = () => this.conn.send({ t: "leave" });
    this.chat = new ChatBox(
      (text, to) => this.conn.send(to === undefined ? { t: "chat", text } : { t: "chat", text, to }),
      this.names,
      () => this.welcome?.player_id ?? null,
    );
    this.conn.open();
    this.pingTimer = setInterval(() => this.conn.send({ t: "ping", client_time: performance.now() }), 1000);
    requestAnimationFrame((t) => this.frame(t));
  }

  leave(): void {
    this.conn.send({ t: "leave" });
    this.stop("");
  }

  private stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.pingTimer);
    this.chat.dispose();
    this.nodes.stop();
    window.removeEventListener("keydown", this.keys);
    show("spectate", false);
    this.conn.close();
    show("reconnecting", false);
    this.onExit(reason);
  }

  private onDropped(retry: boolean, reason: string): void {
    if (this.stopped) return;
    if (retry) {
      this.reconnecting = true;
      show("reconnecting", true);
      // The page's own node serves this page: while it is up there is no one else to ask.
      if (!sameSocket(this.conn.url, wsUrl())) void this.checkNodeGone();
    } else if (reason === "shutting_down") {
      void this.leaveDrainingNode();
    } else if (this.relocating) {
      this.stop("The server shut down, and moving you to another one failed. Try Quick play in a moment.");
    } else {
      this.stop(`Disconnected: ${reason}`);
    }
  }

  /** Follows a hand-off: the room is on another node, which holds a seat for our ticket. */
  private followHandoff(url: string, ticket: string): void {
    this.handoffs += 1;
    if (this.handoffs > MAX_HANDOFFS) return this.stop("The servers kept sending us elsewhere; try again.");
    this.ticketSent = true;
    this.conn.moveTo(url, ticket);
  }

  /**
   * The node closed with shutting_down. In a cluster it is draining: quick play on the least loaded other
   * node, as the page's node lists them now, or (when the page's node is the one going) as it last did.
   * A single server lists none: the session ends as before.
   */
  private async leaveDrainingNode(): Promise<void> {
    const leaving = this.conn.url;
    const next = pickNode(await this.nodes.current(), leaving);
    if (this.stopped) return;
    if (!next) return this.stop("The server shut down.");
    const text = "This server is restarting; moving you to another one";
    notice(text);
    this.chat.system(text);
    this.forgetRoom();
    this.entry = { kind: "quick" };
    this.relocating = true;
    this.conn.moveTo(next.ws_url, null);
  }

  /**
   * A reconnect to another node than the page's failed: when the page's node no longer lists it, it is
   * gone (its seats with it), and waiting out the grace period would only keep the player staring at
   * "reconnecting". Asked at most once per NODE_CHECK_MS; a node just killed stays listed for a few
   * seconds, so the first asks say it is there.
   */
  private async checkNodeGone(): Promise<void> {
    if (this.nodeChecking || performance.now() < this.nodeCheckAt) return;
    this.nodeChecking = true;
    const lost = this.conn.url;
    const listed = await this.nodes.listed(lost);
    this.nodeChecking = false;
    this.nodeCheckAt = performance.now() + NODE_CHECK_MS;
    const stillLost = this.reconnecting && !this.conn.connected && this.conn.url === lost;
    if (listed === false && stillLost) this.stop(NODE_GONE);
  }

  /** Forgets the room this session was in (it is on a node being left): nothing of it is drawn or sent. */
  private forgetRoom(): void {
    this.joined = null;
    this.spectating = false;
    this.following = null;
    this.predictor = null;
    this.buffer = null;
    this.decoder = null;
    this.scores = [];
    this.shots = [];
    this.outgoing = [];
    this.reconnecting = false;
    show("reconnecting", false);
    show("spectate", false);
    show("scoreboard", false);
    history.replaceState(null, "", location.pathname);
  }

  private onMessage(msg: ServerMsg): void {
    switch (msg.t) {
      case "welcome":
        this.welcome = msg;
        this.relocating = false;
        // Inputs gathered on a lost connection are not sent on the new one: the server has moved on.
        this.outgoing = [];
        if (this.ticketSent) {
          // The ticket's seat is taken with the hello: joined follows (or bad_ticket).
          this.ticketSent = false;
          return;
        }
        if (this.reconnecting) {
          this.reconnecting = false;
          show("reconnecting", false);
          if (this.spectating && this.joined) {
            // A spectator has no seat to take back: it watches again.
            this.ask({ t: "watch", code: this.joined.room });
            return;
          }
          if (!msg.resumed) {
            this.stop("Your seat was given up: the connection was lost for too long.");
          }
          return;
        }
        if (this.entry.kind === "quick") this.conn.send({ t: "quick_play" });
        else if (this.entry.kind === "create") this.conn.send({ t: "create_room" });
        else if (this.entry.kind === "watch") this.ask({ t: "watch", code: this.entry.code });
        else this.ask({ t: "join_room", code: this.entry.code });
        return;
      case "joined":
        this.onJoined(msg);
        return;
      case "snapshot": {
        if (!this.decoder) return;
        let snap: Snapshot;
        try {
          snap = this.decoder.apply(msg);
        } catch (err) {
          // A delta that does not fit: this view of the room is lost. Reconnecting takes the seat back
          // and starts again from a keyframe.
          console.warn("snapshot did not decode; reconnecting", err);
          this.conn.simulateDrop();
          return;
        }
        this.onSnapshot(snap);
        return;
      }
      case "events":
        this.decoder?.applyEvents(msg.tick, msg.events);
        for (const e of msg.events) this.onEvent(e);
        return;
      case "pong":
        this.ping = performance.now() - msg.client_time;
        return;
      case "error":
        // The close that follows says it again; onDropped decides where to go.
        if (msg.code === "shutting_down") return;
        if (msg.code === "bad_ticket" && this.entry.kind === "quick") {
          // The seat we were handed off to was given up: any room will do, found from this node.
          this.conn.send({ t: "quick_play" });
          return;
        }
        if (msg.code === "room_full" && this.asked?.t === "join_room") {
          // A full room is watched instead, until a seat frees (Join in the HUD tries again). Only a
          // refused seat falls back to watching: a refused watch (no spectator place) ends here.
          toast(`Room ${this.asked.code} is full: watching until a seat frees`);
          this.ask({ t: "watch", code: this.asked.code });
          return;
        }
        if (msg.code === "room_closed" && this.spectating) return this.stop(msg.message);
        if (!this.joined) this.stop(msg.message);
        else toast(msg.message);
        return;
      case "left":
        this.decoder?.reset();
        // A spectator taking a seat: Join sent `leave`, then the seat is asked for.
        if (this.spectating && this.joined) this.ask({ t: "join_room", code: this.joined.room });
        return;
      case "chat":
        this.chat.heard(msg);
        return;
      case "handoff":
        this.followHandoff(msg.url, msg.ticket);
        return;
      case "notice":
        notice(msg.text);
        this.chat.system(`Notice: ${msg.text}`);
        return;
      case "replay":
        // Offered with the final scores (and under Tab until the next match ends).
        this.replay = msg.id;
        el<HTMLAnchorElement>("watch-again-link").href = replayHash(msg.id);
        show("watch-again", true);
        return;
    }
  }

  private onJoined(j: Joined): void {
    const w = this.welcome;
    if (!w) return;
    this.joined = j;
    this.handoffs = 0;
    this.nodes.watch();
    this.spectating = j.spectating === true;
    if (!this.spectating) this.following = null;
    show("spectate", this.spectating);
    // Until the first snapshot says a seat is free.
    el<HTMLButtonElement>("spectate-join").disabled = true;
    for (const p of j.players) this.names.set(p.id, p.name);
    const tickMs = 1000 / w.tick_rate;
    // A fresh predictor and buffer (also after a reconnect: the server's state is the truth).
    this.predictor = new Predictor(w.tuning, j.map, 1 / w.tick_rate);
    this.buffer = new SnapshotBuffer(tickMs, 1000 / w.snapshot_rate);
    this.decoder = new SnapshotDecoder(w.tick_rate);
    this.shots = [];
    this.outgoing = [];
    this.replay = null;
    show("watch-again", false);
    this.conn.inGame = true;
    history.replaceState(null, "", this.spectating ? `#${j.room}/watch` : `#${j.room}`);
    setText("hud-room", `Room ${j.room}`);
    el("copy-invite").onclick = () => {
      const link = this.inviteLink();
      navigator.clipboard?.writeText(link).then(
        () => toast("Invite link copied"),
        () => toast(link),
      );
    };
    this.renderer.resize(j.map);
  }

  inviteLink(): string {
    return this.joined ? `${location.origin}/#${this.joined.room}` : "";
  }

  private onSnapshot(s: Snapshot): void {
    const w = this.welcome;
    if (!w || !this.buffer || !this.predictor) return;
    this.buffer.push(s, performance.now());
    if (s.scores.length > 0) this.scores = s.scores;
    const now = performance.now();
    // A muzzle flash for every other player's new shot, where it left.
    for (const p of s.projectiles) {
      if (this.seenShots.has(p.id)) continue;
      this.seenShots.add(p.id);
      if (p.owner !== w.player_id && s.tick - p.tick <= 3) this.addEffect({ kind: "flash", x: p.x, y: p.y, at: now, color: colorFor(p.owner) });
    }
    if (this.seenShots.size > SEEN_SHOTS) this.seenShots = new Set([...this.seenShots].slice(-SEEN_SHOTS / 2));
    // A pickup: one's health went up while alive (a respawn starts from full health after a death).
    const mine = s.ships.find((ship) => ship.id === w.player_id);
    const health = mine && mine.respawnTicks === 0 ? mine.health : null;
    if (health !== null && this.lastHealth !== null && health > this.lastHealth) this.sound.play("pickup");
    this.lastHealth = health;
    this.predictor.reconcile(
      s.ships.find((ship) => ship.id === w.player_id),
      s.acks.get(w.player_id) ?? 0,
    );
    // Predicted shots the server confirmed and then removed (a hit, a wall) go too.
    this.shots = this.shots.filter((shot) => {
      const server = s.projectiles.find((p) => p.owner === w.player_id && p.seq === shot.seq);
      if (server) {
        shot.confirmed = true;
        shot.id = server.id;
      }
      return server !== undefined || !shot.confirmed;
    });
  }

  private onEvent(e: GameEvent): void {
    const name = (id: number) => this.names.get(id) ?? `#${id}`;
    switch (e.e) {
      case "join":
        this.names.set(e.id, e.name);
        if (e.id !== this.welcome?.player_id) {
          pushKillfeed(`${e.name} joined`);
          this.chat.system(`${e.name} joined`);
        }
        return;
      case "leave":
        pushKillfeed(`${name(e.id)} left`);
        this.chat.system(`${name(e.id)} left`);
        return;
      case "kill": {
        pushKillfeed(`${name(e.killer)} ✕ ${name(e.victim)}`);
        this.chat.system(`${name(e.killer)} ✕ ${name(e.victim)}`);
        const me = this.welcome?.player_id;
        if (e.killer === me) this.sound.play("kill");
        if (e.victim === me) this.sound.play("death");
        const at = this.shipPosition(e.victim);
        if (at) this.addEffect({ kind: "burst", ...at, at: performance.now(), color: colorFor(e.victim) });
        return;
      }
      case "phase":
        if (e.phase === "playing") {
          toast("Match started!");
          this.sound.play("start");
        }
        if (e.phase === "results") {
          toast("Match over");
          this.sound.play("end");
        }
        return;
      case "hit": {
        const me = this.welcome?.player_id;
        const now = performance.now();
        if (e.shooter === me) {
          // Confirmed: a marker and a flash on the ship hit, and the shot we drew ends.
          this.hitsConfirmed += 1;
          this.hitMarks.push({ target: e.target, at: now });
          this.shots = this.shots.filter((s) => s.id !== e.shot);
          this.sound.play("hit");
        }
        const target = this.shipPosition(e.target);
        if (target) this.addEffect({ kind: "damage", ...target, at: now, text: `-${e.damage}` });
        if (e.target === me) {
          // Who hit us: a red wedge on our ship, pointing at them.
          this.sound.play("hurt");
          const from = this.shipPosition(e.shooter);
          if (target && from) this.addEffect({ kind: "hurt", ...target, at: now, angle: Math.atan2(from.y - target.y, from.x - target.x) });
        }
        return;
      }
    }
  }

  private addEffect(effect: Omit<EffectView, "age"> & { at: number }): void {
    this.effects.push(effect);
    if (this.effects.length > MAX_EFFECTS) this.effects.splice(0, this.effects.length - MAX_EFFECTS);
  }

  /** Asks for a seat or a spectator's place in a room. */
  private ask(request: { t: "join_room" | "watch"; code: string }): void {
    this.asked = request;
    this.conn.send(request);
  }

  /** A spectator's keys: 1–4 follow the players ranked 1–4, 0 the whole arena. */
  private onKey(e: KeyboardEvent): void {
    if (!this.spectating || e.target instanceof HTMLInputElement) return;
    if (e.code === "Digit0") this.following = null;
    const rank = /^Digit([1-4])$/.exec(e.code);
    if (!rank) return;
    // By the scoreboard; players with no score row yet (warm-up) after, in the order of their ships.
    const ranked = rankScores(this.scores.map(([id, kills, deaths]) => ({ id, kills, deaths, name: "" }))).map((r) => r.id);
    for (const ship of this.buffer?.latest?.ships ?? []) if (!ranked.includes(ship.id)) ranked.push(ship.id);
    const id = ranked[Number(rank[1]) - 1];
    if (id !== undefined) this.following = id;
  }

  /** One fixed tick of local input: sample, predict, send. */
  private step(): void {
    const w = this.welcome;
    const p = this.predictor;
    const latest = this.buffer?.latest;
    if (!w || !p || !this.joined || !this.conn.connected || this.spectating) return;
    const me = p.renderPosition(this.alpha);
    const [ax, ay] = this.renderer.toArena(this.controls.mouseX, this.controls.mouseY);
    const stick = this.controls.aimAngle();
    const mouse = Math.hypot(ax - me.x, ay - me.y) > 1 ? Math.atan2(ay - me.y, ax - me.x) : this.lastAim;
    // A released stick keeps its last aim until the mouse moves (a touch laptop, a pad plugged in).
    const aim = stick ?? (this.controls.mouseAims() ? mouse : this.lastAim);
    this.lastAim = aim;
    this.seq += 1;
    const firing = this.controls.firing();
    // The moment of the room this frame draws other ships at: the server tests our shots against it.
    const view = this.buffer?.renderTick(this.frameTime);
    const input: Input = { seq: this.seq, movement: this.controls.movement(), aim, buttons: firing ? FIRE : 0 };
    if (view !== undefined && Number.isFinite(view)) input.view_tick = view;
    p.apply(input);
    this.outgoing.push(input);
    if (this.outgoing.length >= Math.max(1, Math.min(w.input_batch, MAX_INPUTS_PER_MESSAGE))) {
      this.conn.send(this.outgoing.length === 1 ? { t: "input", ...input } : { t: "inputs", inputs: this.outgoing });
      this.outgoing = [];
    }
    const t = w.tuning;
    const canFire = p.active && latest?.phase !== "results" && this.seq >= this.lastFireSeq + t.fire_cooldown_ticks;
    if (firing && canFire) {
      this.lastFireSeq = this.seq;
      this.shotsFired += 1;
      this.sound.play("fire");
      this.addEffect({ kind: "flash", x: p.body.x + Math.cos(aim) * t.ship_radius, y: p.body.y + Math.sin(aim) * t.ship_radius, at: performance.now(), color: "#ffffff" });
      // As the server's fire_weapons: the shot leaves from the ship's position after this input, and
      // its flight is known at once (walls never move): `flight_ticks` steps, or its whole lifetime.
      const [stepX, stepY] = shotStep(aim, t, 1 / w.tick_rate);
      const flight = flightTicks([p.body.x, p.body.y], [stepX, stepY], this.joined.map, t.projectile_radius, t.projectile_lifetime_ticks);
      this.shots.push({
        seq: this.seq,
        x: p.body.x,
        y: p.body.y,
        stepX,
        stepY,
        ticksLeft: flight ?? t.projectile_lifetime_ticks,
        confirmed: false,
      });
    }
    // Each tick a shot in flight takes one step, as in the server's move_projectiles (the firing tick
    // included); one whose flight is over goes, as the server's is missing from snapshots from its
    // `ends_at` (tick + 1 + flight) on.
    this.shots = this.shots.filter((s) => {
      if (s.ticksLeft <= 0) return false;
      s.x = Math.fround(s.x + s.stepX);
      s.y = Math.fround(s.y + s.stepY);
      s.ticksLeft -= 1;
      return true;
    });
  }

  private frame(now: number): void {
    if (this.stopped) return;
    requestAnimationFrame((t) => this.frame(t));
    const elapsed = this.lastFrame ? now - this.lastFrame : 0;
    this.lastFrame = now;
    this.frames += 1;
    if (now - this.fpsSince >= 1000) {
      this.fps = (this.frames * 1000) / (now - this.fpsSince);
      this.frames = 0;
      this.fpsSince = now;
    }
    const w = this.welcome;
    if (!w || !this.joined || !this.predictor || !this.buffer) return;
    const tickMs = 1000 / w.tick_rate;
    this.frameTime = now;
    this.controls.poll();
    this.acc += elapsed;
    if (this.acc > 250) this.acc = tickMs; // a background tab: do not replay seconds of input
    while (this.acc >= tickMs) {
      this.step();
      this.acc -= tickMs;
    }
    this.alpha = this.acc / tickMs;
    this.predictor.decay(elapsed / 1000);
    this.render(now);
    this.updateHud(now);
  }

  private render(now: number): void {
    const w = this.welcome!;
    const j = this.joined!;
    const buffer = this.buffer!;
    const p = this.predictor!;
    const latest = buffer.latest;
    const tick = buffer.renderTick(now);
    const ships: ShipView[] = [];
    this.hitMarks = this.hitMarks.filter((m) => now - m.at < HIT_MARKER_MS);
    const hits: HitMarker[] = [];
    this.drawn = [];
    for (const s of buffer.ships(tick)) {
      if (s.id === w.player_id || s.respawnTicks > 0) continue;
      this.drawn.push({ id: s.id, x: s.x, y: s.y, vx: s.vx, vy: s.vy });
      const mark = [...this.hitMarks].reverse().find((m) => m.target === s.id);
      const age = mark ? Math.max(0, (now - mark.at) / HIT_MARKER_MS) : 1;
      if (mark) hits.push({ x: s.x, y: s.y, age });
      ships.push({ id: s.id, x: s.x, y: s.y, aim: s.aim, health: s.health, name: this.names.get(s.id) ?? "", me: false, flash: mark ? 0.6 * (1 - age) : 0 });
      this.remoteSamples.push({ tick, id: s.id, x: s.x, y: s.y });
    }
    if (this.remoteSamples.length > ERROR_SAMPLES) this.remoteSamples.splice(0, this.remoteSamples.length - ERROR_SAMPLES);
    const mine = latest?.ships.find((s) => s.id === w.player_id);
    if (mine && mine.respawnTicks === 0 && p.active) {
      const pos = p.renderPosition(this.alpha);
      ships.push({ id: w.player_id, x: pos.x, y: pos.y, aim: this.lastAim, health: mine.health, name: this.name, me: true });
    }
    const projectiles: ProjectileView[] = buffer
      .projectiles(tick)
      .filter((q) => !(q.owner === w.player_id && this.shots.some((s) => s.seq === q.seq)))
      .map((q) => ({ x: q.x, y: q.y, owner: q.owner }));
    for (const s of this.shots) projectiles.push({ x: s.x, y: s.y, owner: w.player_id });
    // On a screen too small for the whole arena at a playable size, the camera follows one's ship.
    // A spectator's camera follows the player chosen (1–4), zoomed in.
    const zoom = MIN_SCALE / this.renderer.fitScale(j.map);
    const followed = this.spectating ? ships.find((s) => s.id === this.following) : undefined;
    if (followed) followed.me = true;
    const own = ships.find((s) => s.me);
    const focusZoom = followed ? Math.max(zoom, FOLLOW_ZOOM) : zoom;
    this.renderer.resize(j.map, focusZoom > 1 && own ? { x: own.x, y: own.y, zoom: focusZoom } : undefined);
    this.effects = this.effects.filter((e) => now - e.at < EFFECT_MS[e.kind]);
    const effects = this.effects.map(({ at, ...e }) => ({ ...e, age: (now - at) / EFFECT_MS[e.kind] }));
    this.renderer.draw({ map: j.map, tuning: w.tuning, ships, projectiles, pickups: latest?.pickups ?? 0, hits, effects });
  }

  private updateHud(now: number): void {
    const w = this.welcome!;
    const latest = this.buffer!.latest;
    if (!latest) return;
    const mine = latest.ships.find((s) => s.id === (this.spectating ? this.following : w.player_id));
    const score = this.scores.find((s) => s[0] === w.player_id);
    if (this.spectating) {
      const name = this.following === null ? null : (this.names.get(this.following) ?? `#${this.following}`);
      setText("hud-health", name ? `${name} ♥ ${mine?.health ?? 0}` : "Spectating");
      setText("hud-score", "1–4 follow a player · 0 the whole arena");
      // Every seated player has a ship in the snapshot (dead ones too): a seat is free below capacity.
      el<HTMLButtonElement>("spectate-join").disabled = latest.ships.length >= this.joined!.capacity;
    } else {
      setText("hud-health", `♥ ${mine?.health ?? 0}`);
      setText("hud-score", `${score?.[1] ?? 0} kills · ${score?.[2] ?? 0} deaths`);
    }
    const arrived = this.buffer!.history[this.buffer!.history.length - 1]!.at;
    const serverTick = latest.tick + (now - arrived) / (1000 / w.tick_rate);
    const phaseText = { warmup: "Warm-up — waiting for players", playing: "Match", results: "Match over" }[latest.phase];
    setText("hud-phase", phaseText);
    setText("hud-timer", latest.endsTick > 0 ? formatClock((latest.endsTick - serverTick) * (1000 / w.tick_rate)) : "");
    setText("hud-net", `ping ${this.ping.toFixed(0)} ms · ${this.fps.toFixed(0)} fps`);
    const dead = mine && mine.respawnTicks > 0;
    show("respawn", Boolean(dead));
    if (dead) setText("respawn", `Respawning in ${Math.ceil((mine.respawnTicks * 1000) / w.tick_rate / 1000)}…`);
    const board = this.controls.scoreboard || latest.phase === "results";
    show("scoreboard", board);
    if (board) {
      const rows = this.scores.map(([id, kills, deaths]) => ({ id, kills, deaths, name: this.names.get(id) ?? `#${id}` }));
      renderScores(rows, w.player_id, latest.phase === "results" ? "Final scores" : "Scores");
    }
  }

  /** Where a ship is drawn now (another's as interpolated, one's own as predicted), if it is alive. */
  private shipPosition(id: number): { x: number; y: number } | null {
    if (id === this.welcome?.player_id && this.predictor?.active) return this.predictor.renderPosition(this.alpha);
    const drawn = this.drawn.find((s) => s.id === id);
    if (drawn) return { x: drawn.x, y: drawn.y };
    const latest = this.buffer?.latest?.ships.find((s) => s.id === id);
    return latest ? { x: latest.x, y: latest.y } : null;
  }

  /** Drops the socket as a network failure would (debug hook). */
  dropConnection(): void {
    this.conn.simulateDrop();
  }

  /** The state tests read through `window.__arena.state()`. */
  debugState() {
    const w = this.welcome;
    const latest = this.buffer?.latest;
    const p = this.predictor;
    const me = w ? latest?.ships.find((s) => s.id === w.player_id) : undefined;
    const pos = p?.renderPosition(this.alpha);
    return {
      screen: "game" as const,
      connected: this.conn.connected,
      /** The game socket this session speaks to: the page's node's, or the one it was handed off to. */
      server: this.conn.url,
      reconnecting: this.reconnecting,
      playerId: w?.player_id ?? null,
      room: this.joined?.room ?? null,
      inviteLink: this.inviteLink(),
      replay: this.replay,
      spectating: this.spectating,
      following: this.following,
      chat: this.chat.lines.map((l) => ({ ...l })),
      chatOpen: this.chat.open,
      phase: latest?.phase ?? null,
      tick: latest?.tick ?? null,
      me: me && pos ? { x: pos.x, y: pos.y, health: me.health, alive: me.respawnTicks === 0 } : null,
      ships: (latest?.ships ?? []).map((s) => ({
        id: s.id,
        name: this.names.get(s.id) ?? "",
        x: s.x,
        y: s.y,
        health: s.health,
        alive: s.respawnTicks === 0,
      })),
      scores: this.scores,
      projectiles: latest?.projectiles.length ?? 0,
      predictedShots: this.shots.length,
      shotsFired: this.shotsFired,
      hitsConfirmed: this.hitsConfirmed,
      drawn: this.drawn,
      camera: this.renderer.camera(),
      touch: this.controls.touch.enabled,
      gamepad: this.controls.gamepad,
      sound: this.sound.state(),
      effects: this.effects.map((e) => e.kind),
      ping: this.ping,
      fps: this.fps,
    };
  }

  /** Prediction and interpolation quality so far (arena units). */
  netStats() {
    const corrections = this.predictor?.corrections ?? [];
    const errors: number[] = [];
    const history = this.buffer?.history ?? [];
    for (const sample of this.remoteSamples) {
      for (let i = 0; i + 1 < history.length; i++) {
        const a = history[i]!.snap;
        const b = history[i + 1]!.snap;
        if (a.tick <= sample.tick && sample.tick <= b.tick) {
          const sa = a.ships.find((s) => s.id === sample.id);
          const sb = b.ships.find((s) => s.id === sample.id);
          if (sa && sb && sa.respawnTicks === 0 && sb.respawnTicks === 0) {
            const t = (sample.tick - a.tick) / (b.tick - a.tick);
            errors.push(Math.hypot(sa.x + (sb.x - sa.x) * t - sample.x, sa.y + (sb.y - sa.y) * t - sample.y));
          }
          break;
        }
      }
    }
    return {
      corrections: summarize(corrections),
      remoteError: summarize(errors),
      renderDelayMs: this.buffer?.delay ?? 0,
      jitterMs: this.buffer?.jitter ?? 0,
      shipRadius: this.welcome?.tuning.ship_radius ?? 0,
    };
  }
}

export function summarize(values: number[]) {
  if (values.length === 0) return { count: 0, median: 0, p99: 0, max: 0 };
  const s = [...values].sort((a, b) => a - b);
  const q = (f: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(f * s.length) - 1))]!;
  return { count: s.length, median: q(0.5), p99: q(0.99), max: s[s.length - 1]! };
}
