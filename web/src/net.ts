// The connection to the server: one WebSocket speaking the binary protocol, which reconnects by itself
// (with the reconnect token, to the same seat) when it drops while in a game. In a cluster it may be
// moved to another node (a hand-off, or leaving a draining one): from then on that node is the one it
// reconnects to, not the page's own.
import { MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION, shouldReconnectAfter } from "./limits";
import { type ClientMsg, decodeServer, encodeClient, type ServerMsg } from "./protocol";

export interface ConnectionEvents {
  message(msg: ServerMsg): void;
  /** The socket dropped; `willRetry` says whether a reconnect is under way. */
  dropped(willRetry: boolean, reason: string): void;
  /** The socket is open again after a drop, and the hello is sent. */
  reopened(): void;
}

/** How long to keep trying to get back in after a drop (the server holds the seat 30 s by default). */
export const RECONNECT_WINDOW_MS = 30_000;

/** The game socket of the server that served this page. */
export function wsUrl(): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

export class Connection {
  private ws: WebSocket | null = null;
  private token: string | null = null;
  /** A hand-off's one-time ticket, for the next hello only. */
  private ticket: string | null = null;
  private retryUntil = 0;
  /** The next reconnect attempt, cancelled when the connection is closed or moved meanwhile. */
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closedByUs = false;
  /** Whether we are in a room, so a drop should be retried. */
  inGame = false;

  constructor(
    private socketUrl: string,
    private readonly name: string,
    private readonly on: ConnectionEvents,
  ) {}

  /** The game socket this connection speaks to (and reconnects to). */
  get url(): string {
    return this.socketUrl;
  }

  open(): void {
    this.closedByUs = false;
    clearTimeout(this.retryTimer);
    const ws = new WebSocket(this.socketUrl);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      const hello: Extract<ClientMsg, { t: "hello" }> = { t: "hello", version: PROTOCOL_VERSION, name: this.name, reconnect_token: this.token };
      if (this.ticket !== null) hello.ticket = this.ticket;
      // Good once: a reconnect to the same node takes the seat back with the token instead.
      this.ticket = null;
      this.send(hello);
      if (this.retryUntil) {
        this.retryUntil = 0;
        this.on.reopened();
      }
    };
    ws.onmessage = (ev) => {
      if (!(ev.data instanceof ArrayBuffer)) return;
      let msg: ServerMsg;
      try {
        msg = decodeServer(ev.data);
      } catch (err) {
        console.warn("undecodable server message", err);
        return;
      }
      if (msg.t === "welcome") this.token = msg.reconnect_token;
      this.on.message(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closedByUs) return;
      const now = performance.now();
      // The server names its fatal error in the close reason; most would only end the same way again.
      const retry =
        this.inGame && this.token !== null && shouldReconnectAfter(ev.reason) && (this.retryUntil === 0 || now < this.retryUntil);
      if (retry && this.retryUntil === 0) this.retryUntil = now + RECONNECT_WINDOW_MS;
      this.on.dropped(retry, ev.reason || `connection closed (${ev.code})`);
      if (retry) this.retryTimer = setTimeout(() => this.open(), 500);
    };
  }

  /**
   * Leaves this socket for another node's: says hello there as a new player (with a hand-off's
   * `ticket`, which takes the seat it holds), and from then on reconnects there. The old socket's close
   * is ours, not a drop; its token is that node's, so it is forgotten.
   */
  moveTo(url: string, ticket: string | null): void {
    const old = this.ws;
    this.ws = null;
    old?.close();
    this.socketUrl = url;
    this.ticket = ticket;
    this.token = null;
    this.retryUntil = 0;
    this.inGame = false;
    this.open();
  }

  send(msg: ClientMsg): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    const bytes = encodeClient(msg);
    // The server closes the connection (too_large) on a longer message: a bug here, not worth a seat.
    if (bytes.length > MAX_CLIENT_MESSAGE_BYTES) {
      console.error(`not sending a ${msg.t} message of ${bytes.length} bytes (the limit is ${MAX_CLIENT_MESSAGE_BYTES})`);
      return;
    }
    this.ws.send(bytes);
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Closes for good (no reconnect). */
  close(): void {
    this.closedByUs = true;
    clearTimeout(this.retryTimer);
    this.ws?.close();
  }

  /** Drops the socket as a network failure would, to test reconnecting (debug hook). */
  simulateDrop(): void {
    this.ws?.close();
  }
}
