// @ts-check
// The landing page: server health and the public room list, refreshed every two seconds.

const REFRESH_MS = 2000;

/** @typedef {{ code: string, players: number, capacity: number }} RoomListing */

/** @param {RoomListing[]} rooms */
function renderRooms(rooms) {
  const body = /** @type {HTMLTableSectionElement} */ (document.querySelector("#rooms tbody"));
  body.replaceChildren();
  if (rooms.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 2;
    cell.textContent = "No public rooms yet.";
    return;
  }
  for (const room of rooms) {
    const row = body.insertRow();
    row.insertCell().textContent = room.code;
    row.insertCell().textContent = `${room.players} / ${room.capacity}`;
  }
}

/** @param {string} text @param {"ok" | "down"} state */
function setStatus(text, state) {
  const status = /** @type {HTMLElement} */ (document.getElementById("status"));
  status.textContent = text;
  status.className = `status ${state}`;
}

async function refresh() {
  try {
    const res = await fetch("/api/rooms", { cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    /** @type {RoomListing[]} */
    const rooms = await res.json();
    setStatus(`Server up at ${location.host}`, "ok");
    renderRooms(rooms);
  } catch (err) {
    setStatus(`Server unreachable: ${err instanceof Error ? err.message : err}`, "down");
  }
}

const cmd = document.getElementById("bots-cmd");
if (cmd) cmd.textContent += ` --url ws://${location.host}/ws`;
refresh();
setInterval(refresh, REFRESH_MS);
