// The cluster's nodes as the page's own server lists them (`GET /api/nodes`), for the two times a player
// must leave the node their match is on: it is draining (go to another, live one), or it died (tell the
// player rather than reconnect for the whole grace period). A single server lists no nodes.

/** A node as `/api/nodes` lists it. */
export interface NodeListing {
  id: string;
  /** Its pages (`http(s)://host:port`). */
  url: string;
  /** Its game socket (`ws(s)://host:port/ws`). */
  ws_url: string;
  players: number;
  rooms: number;
  capacity: number;
  /** Players per place, 0 to 1. */
  load: number;
  /** Shutting down: it takes no one new. */
  draining: boolean;
  version: string;
}

/**
 * How often the list is fetched again while in a room. It is what a player falls back on when the page's
 * own node is the one draining, and gone: a node that joined since is missed, one that died is tried
 * and fails like any other drop.
 */
export const NODES_REFRESH_MS = 30_000;

/** How long a fetch of the list may take before it counts as failed (a drop is waiting on it). */
const FETCH_TIMEOUT_MS = 2_000;

/** Whether two socket addresses are the same (scheme and host are case-insensitive; a trailing / is not a difference). */
export function sameSocket(a: string, b: string): boolean {
  const norm = (url: string) => {
    try {
      const u = new URL(url);
      return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
    } catch {
      return url.replace(/\/+$/, "").toLowerCase();
    }
  };
  return norm(a) === norm(b);
}

/** Where to move from the node at `leaving`: the least loaded other node that is not draining and has room. */
export function pickNode(nodes: readonly NodeListing[], leaving: string): NodeListing | null {
  const open = nodes.filter((n) => !n.draining && !sameSocket(n.ws_url, leaving) && n.players < n.capacity);
  return open.sort((a, b) => a.load - b.load)[0] ?? null;
}

/** Whether `v` is a node listing as far as this client reads one. */
function isListing(v: unknown): v is NodeListing {
  const n = v as Partial<NodeListing> | null;
  return typeof n === "object" && n !== null && typeof n.ws_url === "string" && /^wss?:\/\//i.test(n.ws_url);
}

/** The list from the page's own server; null when it does not answer (or answers with something else). */
export async function fetchNodes(): Promise<NodeListing[] | null> {
  try {
    const res = await fetch("/api/nodes", { cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) return null;
    const body: unknown = await res.json();
    return Array.isArray(body) ? body.filter(isListing) : null;
  } catch {
    return null;
  }
}

/** The list, kept fresh while in a room, so it is there when the page's own node is not. */
export class NodeDirectory {
  private known: NodeListing[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  /** Fetches the list now and every NODES_REFRESH_MS from now on (once started, calling again does nothing). */
  watch(): void {
    if (this.timer !== undefined) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), NODES_REFRESH_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The list as the page's node has it now, or as it was last seen when that node does not answer. */
  async current(): Promise<NodeListing[]> {
    return (await this.refresh()) ?? this.known;
  }

  /** Whether the node with socket `wsUrl` is still listed; null when the page's node cannot say. */
  async listed(wsUrl: string): Promise<boolean | null> {
    const nodes = await this.refresh();
    return nodes && nodes.some((n) => sameSocket(n.ws_url, wsUrl));
  }

  private async refresh(): Promise<NodeListing[] | null> {
    const nodes = await fetchNodes();
    if (nodes) this.known = nodes;
    return nodes;
  }
}
