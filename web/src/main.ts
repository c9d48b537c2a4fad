// Entry point: the landing screen (name, quick play, private rooms, join by code, public room list),
// invite links (`/#CODE` joins that room directly), and the debug hook `window.__arena` for tests.
import { type Entry, Game } from "./game";
import { Controls } from "./input";
import { acceptableName, isRoomCode, MAX_NAME_CHARS, ROOM_CODE_ALPHABET, ROOM_CODE_LEN } from "./limits";
import { Renderer } from "./render";
import { el, type RoomListing, renderRooms, setText, show } from "./ui";

const NAME_KEY = "arena.name";
const ROOM_REFRESH_MS = 2000;

const canvas = el<HTMLCanvasElement>("canvas");
const controls = new Controls(canvas);
const renderer = new Renderer(canvas);
const nameInput = el<HTMLInputElement>("name");
let game: Game | null = null;
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

function start(entry: Entry): void {
  setText("landing-error", "");
  show("landing", false);
  show("game", true);
  clearInterval(roomTimer);
  game = new Game(playerName(), entry, controls, renderer, (reason) => {
    game = null;
    history.replaceState(null, "", location.pathname);
    showLanding(reason);
  });
}

function showLanding(error = ""): void {
  show("game", false);
  show("landing", true);
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

const invited = location.hash.slice(1).trim().toUpperCase();
if (isRoomCode(invited)) start({ kind: "join", code: invited });
else showLanding();

/** The test hook: read-only views of the client's state, plus a way to cut the connection. */
const hook = {
  state: () => game?.debugState() ?? { screen: "landing" as const },
  netStats: () => game?.netStats() ?? null,
  dropConnection: () => game?.dropConnection(),
  /** CSS pixel position of an arena point, for aiming the real mouse at something. */
  screenPosition: (x: number, y: number) => renderer.toScreen(x, y),
};
(window as unknown as { __arena: typeof hook }).__arena = hook;
