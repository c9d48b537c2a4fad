// Entry point: the landing screen (name, quick play, private rooms, join by code, public room list),
// invite links (`/#CODE` joins that room directly; in a cluster from any node's address, which hands the
// player off to the room's node), the replays list (`/#replays`) and viewer
// (`/#replay/ID@t=SECONDS`), and the debug hook `window.__arena` for tests.
import { type Entry, Game } from "./game";
import { Controls } from "./input";
import { acceptableName, isRoomCode, MAX_NAME_CHARS, ROOM_CODE_ALPHABET, ROOM_CODE_LEN } from "./limits";
import { Renderer } from "./render";
import { Sound } from "./sound";
import { el, type ReplayListing, type RoomListing, renderReplays, renderRooms, setText, show } from "./ui";
import { StatusPage } from "./status";
import { parseReplayHash, replayHash, Viewer } from "./viewer";

const NAME_KEY = "arena.name";
const ROOM_REFRESH_MS = 2000;

const canvas = el<HTMLCanvasElement>("canvas");
const controls = new Controls(canvas);
const renderer = new Renderer(canvas);
const sound = new Sound();
const viewerRenderer = new Renderer(el<HTMLCanvasElement>("viewer-canvas"));
const nameInput = el<HTMLInputElement>("name");
let game: Game | null = null;
let viewer: Viewer | null = null;
let roomTimer: ReturnType<typeof setInterval> | undefined;

nameInput.value = localStorage.getItem(NAME_KEY) ?? `Player${Math.floor(1000 + Math.random() * 9000)}`;
// The fields' length limits from the shared constants. maxLength counts UTF-16 units, so it never lets
// through more characters than the server allows (though an emoji counts twice there); playerName()
// cuts by characters in any case.
nameInput.maxLength = MAX_NAME_CHARS;
el<HTMLInputElement>("join-code").maxLength = ROOM_CODE_LEN;

/** The name as the server will accept it (a bad one would end the connection with bad_name). */
function playerName(): string {
  const name = acceptableName(nameInput.value) || "Player";
  localStorage.setItem(NAME_KEY, name);
  return name;
}

/** Shows one screen, stopping what the others were doing. */
function screen(name: "landing" | "replays" | "viewer" | "game" | "status"): void {
  for (const id of ["landing", "replays", "viewer", "game", "status"]) show(id, id === name);
  controls.enabled = name === "game";
  clearInterval(roomTimer);
  if (name !== "viewer") {
    viewer?.stop();
    viewer = null;
  }
}

function start(entry: Entry): void {
  setText("landing-error", "");
  screen("game");
  game = new Game(playerName(), entry, controls, renderer, sound, (reason) => {
    game = null;
    history.replaceState(null, "", location.pathname);
    showLanding(reason);
  });
}

function showLanding(error = ""): void {
  screen("landing");
  setText("landing-error", error);
  refreshRooms();
  roomTimer = setInterval(refreshRooms, ROOM_REFRESH_MS);
}

async function refreshRooms(): Promise<void> {
  try {
    const res = await fetch("/api/rooms", { cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    renderRooms((await res.json()) as RoomListing[], (code) => start({ kind: "join", code }));
  } catch (err) {
    setText("landing-error", `Server unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
}

el("quick-play").onclick = () => start({ kind: "quick" });
el("create-room").onclick = () => start({ kind: "create" });
el<HTMLFormElement>("join-form").onsubmit = (e) => {
  e.preventDefault();
  const code = el<HTMLInputElement>("join-code").value.trim().toUpperCase();
  if (isRoomCode(code)) start({ kind: "join", code });
  else setText("landing-error", `A room code has ${ROOM_CODE_LEN} of the letters ${ROOM_CODE_ALPHABET}.`);
};
el("leave").onclick = () => game?.leave();

/** The Sound button and M: mute or unmute, remembered across visits. */
function showMuted(): void {
  setText("mute", sound.muted ? "Sound: off" : "Sound: on");
}
function toggleMute(): void {
  sound.setMuted(!sound.muted);
  showMuted();
}
showMuted();
el("mute").onclick = toggleMute;
window.addEventListener("keydown", (e) => {
  const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  if (e.code === "KeyM" && game && !typing) toggleMute();
});
el("open-replays").onclick = () => {
  history.pushState(null, "", "#replays");
  showReplays();
};
el("replays-back").onclick = () => {
  history.pushState(null, "", location.pathname);
  showLanding();
};

async function showReplays(): Promise<void> {
  screen("replays");
  setText("replays-error", "");
  try {
    const res = await fetch("/api/replays", { cache: "no-store" });
    if (res.status === 404) throw new Error("this server does not record matches (it runs with --replays off)");
    if (!res.ok) throw new Error(`the server answered HTTP ${res.status}`);
    renderReplays((await res.json()) as ReplayListing[], (id) => {
      history.pushState(null, "", replayHash(id));
      watch(id, 0);
    });
  } catch (err) {
    el("replay-list").replaceChildren();
    setText("replays-error", `No replays: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function watch(id: string, seconds: number): void {
  screen("viewer");
  viewer?.stop();
  viewer = new Viewer(id, seconds, viewerRenderer, () => {
    viewer = null;
    history.pushState(null, "", "#replays");
    showReplays();
  });
}

let status: StatusPage | null = null;

/** Opens what the address names: the status page, a replay, the replays list, a room (an invite), or the landing page. */
function route(): void {
  if (location.pathname === "/status") {
    screen("status");
    status ??= new StatusPage();
    return;
  }
  const hash = location.hash;
  const replay = parseReplayHash(hash);
  if ((replay || hash === "#replays") && game) {
    // Leaving a room for a replay (its "watch again" link): the address stays the replay's.
    game.leave();
    history.replaceState(null, "", hash);
  }
  if (replay) return watch(replay.id, replay.seconds);
  if (location.hash === "#replays") return void showReplays();
  if (game) return;
  const invited = location.hash.slice(1).trim().toUpperCase();
  const watched = /^([A-Z]+)\/WATCH$/.exec(invited)?.[1];
  if (watched && isRoomCode(watched)) start({ kind: "watch", code: watched });
  else if (isRoomCode(invited)) start({ kind: "join", code: invited });
  else showLanding();
}

// A link followed, an address edited, back or forward (pushState itself fires nothing).
window.addEventListener("popstate", route);
route();

/** The test hook: read-only views of the client's state, plus a way to cut the connection. */
const hook = {
  state: () => game?.debugState() ?? viewer?.debugState() ?? status?.debugState() ?? { screen: screenShown() },
  netStats: () => game?.netStats() ?? null,
  dropConnection: () => game?.dropConnection(),
  /** Whether sound can play yet (not before a gesture), muted, and what played. */
  sound: () => sound.state(),
  /** CSS pixel position of an arena point, for aiming the real mouse at something. */
  screenPosition: (x: number, y: number) => renderer.toScreen(x, y),
};
(window as unknown as { __arena: typeof hook }).__arena = hook;

function screenShown(): string {
  return ["landing", "replays", "viewer", "game", "status"].find((id) => !el(id).classList.contains("hidden")) ?? "landing";
}
