// Every way to play, merged: keyboard and mouse (WASD or arrows move, the mouse aims, click or Space
// fires, Tab shows the scores), the touch sticks (touch.ts) and a gamepad (gamepad.ts). A stick held
// wins over the keys; any of them fires.
import { type PadState, readGamepad } from "./gamepad";
import type { Vec2 } from "./protocol";
import { TouchSticks } from "./touch";

const KEYS: Record<string, Vec2> = {
  KeyW: [0, -1],
  ArrowUp: [0, -1],
  KeyS: [0, 1],
  ArrowDown: [0, 1],
  KeyA: [-1, 0],
  ArrowLeft: [-1, 0],
  KeyD: [1, 0],
  ArrowRight: [1, 0],
};

export class Controls {
  private held = new Set<string>();
  private mouseDown = false;
  /** Mouse position in CSS pixels. */
  mouseX = 0;
  mouseY = 0;
  private tabHeld = false;
  /** When the mouse last moved, and a stick last aimed (ms): the later one aims. */
  private mouseAt = 0;
  private stickAt = 0;
  /** The gamepad as read at the last poll. */
  private pad: PadState | null = null;
  readonly touch = new TouchSticks();
  /** Off outside a game: the keys then belong to the page (the replay viewer, forms). */
  enabled = false;

  constructor(target: HTMLElement) {
    window.addEventListener("keydown", (e) => {
      if (!this.enabled || isTyping(e)) return;
      if (e.code === "Tab") {
        this.tabHeld = true;
        e.preventDefault();
        return;
      }
      if (e.code in KEYS || e.code === "Space") e.preventDefault();
      this.held.add(e.code);
    });
    window.addEventListener("keyup", (e) => {
      if (e.code === "Tab") this.tabHeld = false;
      this.held.delete(e.code);
    });
    window.addEventListener("blur", () => {
      this.held.clear();
      this.mouseDown = false;
      this.tabHeld = false;
    });
    target.addEventListener("mousemove", (e) => {
      this.mouseX = e.clientX;
      this.mouseY = e.clientY;
      this.mouseAt = performance.now();
    });
    target.addEventListener("mousedown", (e) => {
      if (e.button === 0) this.mouseDown = true;
    });
    window.addEventListener("mouseup", (e) => {
      if (e.button === 0) this.mouseDown = false;
    });
  }

  /** Reads the gamepad; once a frame. */
  poll(): void {
    this.pad = readGamepad();
  }

  /** Whether a gamepad was connected at the last poll. */
  get gamepad(): boolean {
    return this.pad !== null;
  }

  /** Tab, or the gamepad's Back. */
  get scoreboard(): boolean {
    return this.tabHeld || Boolean(this.pad?.scoreboard);
  }

  /** The aim a stick asks for, radians; null when none does (the mouse aims then). */
  aimAngle(): number | null {
    const aim = this.touch.aimAngle() ?? this.pad?.aim ?? null;
    if (aim !== null) this.stickAt = performance.now();
    return aim;
  }

  /**
   * Whether the mouse aims when no stick does: always without sticks; with them (a touch laptop, a
   * pad plugged in), once the mouse has moved since a stick last aimed (else the last aim holds).
   */
  mouseAims(): boolean {
    return (!this.touch.enabled && !this.pad) || this.mouseAt > this.stickAt;
  }

  /** The movement direction (length 0 or 1). */
  movement(): Vec2 {
    const stick = this.touch.movement() ?? this.pad?.movement;
    if (stick) return stick;
    let x = 0;
    let y = 0;
    for (const code of this.held) {
      const k = KEYS[code];
      if (k) {
        x += k[0];
        y += k[1];
      }
    }
    x = Math.sign(x);
    y = Math.sign(y);
    const len = Math.hypot(x, y);
    return len > 0 ? [x / len, y / len] : [0, 0];
  }

  firing(): boolean {
    return this.mouseDown || this.held.has("Space") || this.touch.firing() || Boolean(this.pad?.firing);
  }

  /** Presses or releases a key as if typed (debug hook for tests). */
  setKey(code: string, down: boolean): void {
    if (down) this.held.add(code);
    else this.held.delete(code);
  }
}

function isTyping(e: KeyboardEvent): boolean {
  const t = e.target;
  return t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
}
