// The live server page (`/status`): the server's rooms with their players, phase and time left, and
// its last minute as small charts (players, tick duration p50/p99, bytes a second), from
// `/api/status` once a second. With the server's `--status-token`, opened as `/status?token=SECRET`.
import { el, formatClock, setText, show } from "./ui";

const REFRESH_MS = 1000;
/** The charts' background (the page's own, darker than the card they sit on). */
export const CHART_BACKGROUND = "#0b0e14";

interface Sample {
  at_s: number;
  players: number;
  rooms: number;
  ticks: number;
  tick_p50_ms: number;
  tick_p99_ms: number;
  bytes_in: number;
  bytes_out: number;
}

interface StatusRoom {
  code: string | null;
  public: boolean;
  players: number;
  capacity: number;
  spectators: number;
  phase: "warmup" | "playing" | "results";
  seconds_left: number;
}

export interface ServerStatus {
  version: string;
  uptime_s: number;
  tick_rate: number;
  snapshot_rate: number;
  players: number;
  rooms: StatusRoom[];
  history: Sample[];
}

/** A series for a chart: its label, colour and value of each sample. */
interface Series {
  label: string;
  color: string;
  value: (s: Sample) => number;
}

const CHARTS: { id: string; title: string; unit: (v: number) => string; series: Series[] }[] = [
  { id: "chart-players", title: "Players", unit: (v) => v.toFixed(0), series: [{ label: "players", color: "#79c0ff", value: (s) => s.players }] },
  {
    id: "chart-tick",
    title: "Tick duration (ms)",
    unit: (v) => v.toFixed(2),
    series: [
      { label: "p50", color: "#56d364", value: (s) => s.tick_p50_ms },
      { label: "p99", color: "#e3b341", value: (s) => s.tick_p99_ms },
    ],
  },
  {
    id: "chart-bytes",
    title: "Traffic (KB/s)",
    unit: (v) => v.toFixed(1),
    series: [
      { label: "out", color: "#d2a8ff", value: (s) => s.bytes_out / 1000 },
      { label: "in", color: "#ff7b72", value: (s) => s.bytes_in / 1000 },
    ],
  },
];

export class StatusPage {
  private timer: ReturnType<typeof setInterval> | undefined;
  private last: ServerStatus | null = null;
  private error = "";
  private updates = 0;
  private readonly token = statusToken();

  constructor() {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      const headers: Record<string, string> = this.token ? { Authorization: `Bearer ${this.token}` } : {};
      const res = await fetch("/api/status", { cache: "no-store", headers });
      if (res.status === 401) throw new Error("this server's status page needs its token: open /status?token=SECRET");
      if (!res.ok) throw new Error(`the server answered HTTP ${res.status}`);
      this.last = (await res.json()) as ServerStatus;
      this.error = "";
      this.updates += 1;
      this.render(this.last);
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    }
    setText("status-error", this.error);
  }

  private render(s: ServerStatus): void {
    setText("status-server", `Arena ${s.version} · up ${formatUptime(s.uptime_s)} · ${s.tick_rate} Hz ticks, ${s.snapshot_rate} Hz snapshots`);
    const now = s.history.at(-1);
    setText(
      "status-now",
      `${s.players} players in ${s.rooms.length} rooms` +
        (now ? ` · tick p50 ${now.tick_p50_ms.toFixed(2)} ms, p99 ${now.tick_p99_ms.toFixed(2)} ms · ${(now.bytes_out / 1000).toFixed(1)} KB/s out, ${(now.bytes_in / 1000).toFixed(1)} KB/s in` : ""),
    );
    for (const chart of CHARTS) drawChart(el<HTMLCanvasElement>(chart.id), chart.title, chart.unit, chart.series, s.history);
    const body = el("status-rooms");
    body.replaceChildren(
      ...s.rooms.map((r) => {
        const tr = document.createElement("tr");
        const phase = { warmup: "warm-up", playing: "match", results: "final scores" }[r.phase];
        const players = `${r.players}/${r.capacity}` + (r.spectators > 0 ? ` (+${r.spectators} watching)` : "");
        const cells = [r.code ?? "private", players, phase, r.seconds_left > 0 ? formatClock(r.seconds_left * 1000) : ""];
        for (const text of cells) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.append(td);
        }
        // Public rooms can be watched from here (a private room's code is not shown).
        const watch = document.createElement("td");
        if (r.code) {
          const a = document.createElement("a");
          a.href = `/#${r.code}/watch`;
          a.textContent = "watch";
          watch.append(a);
        }
        tr.append(watch);
        return tr;
      }),
    );
    show("status-no-rooms", s.rooms.length === 0);
  }

  /** The state tests read through `window.__arena.state()`. */
  debugState() {
    return {
      screen: "status" as const,
      updates: this.updates,
      error: this.error,
      samples: this.last?.history.length ?? 0,
      lastSample: this.last?.history.at(-1) ?? null,
      players: this.last?.players ?? null,
      rooms: this.last?.rooms ?? [],
    };
  }
}

/**
 * The token from `?token=` (taken out of the address bar and history at once, and kept for this tab
 * only), or the one this tab was given before.
 */
function statusToken(): string | null {
  const KEY = "arena.status-token";
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    sessionStorage.setItem(KEY, fromUrl);
    history.replaceState(null, "", location.pathname + location.hash);
  }
  return fromUrl ?? sessionStorage.getItem(KEY);
}

function formatUptime(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min` : `${Math.floor(s)} s`;
}

/** A small line chart of the last minute: one line a series, the newest value of each in the legend. */
function drawChart(canvas: HTMLCanvasElement, title: string, unit: (v: number) => string, series: Series[], history: Sample[]): void {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = CHART_BACKGROUND;
  ctx.fillRect(0, 0, w, h);
  const top = 22;
  const max = Math.max(1e-9, ...history.flatMap((s) => series.map((x) => x.value(s))));
  const span = 60;
  series.forEach((x, k) => {
    ctx.strokeStyle = x.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    history.forEach((s, i) => {
      const px = w - ((history.length - 1 - i) / (span - 1)) * w;
      const py = h - 4 - (x.value(s) / max) * (h - top - 8);
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
    const now = history.at(-1);
    ctx.fillStyle = x.color;
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText(`${x.label} ${now ? unit(x.value(now)) : "–"}`, 8 + k * 90, top + 12);
  });
  ctx.fillStyle = "#e6e9ef";
  ctx.font = "13px system-ui, sans-serif";
  ctx.fillText(`${title} · max ${unit(max)}`, 8, 15);
}
