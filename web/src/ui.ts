// The DOM around the canvas: landing screen, HUD, kill feed, scoreboard, overlays.

export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found as T;
}

export function show(id: string, visible: boolean): void {
  el(id).classList.toggle("hidden", !visible);
}

export function setText(id: string, text: string): void {
  const e = el(id);
  if (e.textContent !== text) e.textContent = text;
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;
export function toast(text: string): void {
  setText("toast", text);
  show("toast", true);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => show("toast", false), 2500);
}

/** How long a notice stays up, ms: long enough to read a couple of lines mid-match. */
export const NOTICE_MS = 8000;

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
/** A prominent banner for an announcement (the operators', or the client's own about the server). Text only, never markup. */
export function notice(text: string): void {
  setText("notice", text);
  show("notice", true);
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => show("notice", false), NOTICE_MS);
}

export interface RoomListing {
  code: string;
  players: number;
  capacity: number;
}

export function renderRooms(rooms: RoomListing[], join: (code: string) => void): void {
  const list = el("rooms");
  list.replaceChildren();
  if (rooms.length === 0) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "No public rooms yet — Quick play opens one.";
    list.append(li);
    return;
  }
  for (const room of rooms) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = `${room.code} · ${room.players}/${room.capacity} players`;
    const button = document.createElement("button");
    button.textContent = "Join";
    button.disabled = room.players >= room.capacity;
    button.onclick = () => join(room.code);
    li.append(label, button);
    list.append(li);
  }
}

export function formatClock(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function pushKillfeed(text: string): void {
  const feed = el("killfeed");
  const li = document.createElement("li");
  li.textContent = text;
  feed.prepend(li);
  while (feed.children.length > 5) feed.lastElementChild?.remove();
  setTimeout(() => li.remove(), 6000);
}

export interface ScoreRow {
  id: number;
  name: string;
  kills: number;
  deaths: number;
}

/** Best first: most kills, then fewest deaths, then who joined first. */
export function rankScores(rows: ScoreRow[]): ScoreRow[] {
  return [...rows].sort((a, b) => b.kills - a.kills || a.deaths - b.deaths || a.id - b.id);
}

/** Fills a score table's body with `rows` as they are, `highlight`'s row marked, rows clickable. */
export function fillScores(body: HTMLElement, rows: ScoreRow[], highlight: number | null, click?: (id: number) => void): void {
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      if (r.id === highlight) tr.className = "me";
      for (const v of [r.name, String(r.kills), String(r.deaths)]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      if (click) tr.onclick = () => click(r.id);
      return tr;
    }),
  );
}

export function renderScores(rows: ScoreRow[], me: number, title: string): void {
  setText("scoreboard-title", title);
  fillScores(el("scores"), rankScores(rows), me);
}

/** A replay as `/api/replays` lists it. */
export interface ReplayListing {
  id: string;
  map: string;
  room: string;
  started_at_ms: number;
  seconds: number;
  reason: "finished" | "abandoned" | "closed";
  players: { name: string; kills: number; deaths: number }[];
  top: { name: string; kills: number; deaths: number } | null;
  kills: number;
}

export function renderReplays(replays: ReplayListing[], watch: (id: string) => void): void {
  const body = el("replay-list");
  body.replaceChildren();
  if (replays.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 6;
    td.className = "muted";
    td.textContent = "No replays yet: every match played on this server will be listed here.";
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const r of replays) {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id;
    const cells = [
      new Date(r.started_at_ms).toLocaleString(),
      r.map,
      formatClock(r.seconds * 1000) + (r.reason === "finished" ? "" : ` (${r.reason})`),
      String(r.players.length),
      r.top ? `${r.top.name} (${r.top.kills})` : "",
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.textContent = "Watch";
    button.onclick = () => watch(r.id);
    td.append(button);
    tr.append(td);
    body.append(tr);
  }
}
