// On-screen sticks for touch screens: the left one moves, the right one aims and fires while held.
// Each stick follows its own finger (pointer id), so both work at once; the page neither scrolls nor
// zooms under them (touch-action: none).
import type { Vec2 } from "./protocol";
import { el, show } from "./ui";

/** How far from the centre (a fraction of the stick's radius) a finger must be to count. */
const DEAD_ZONE = 0.25;

/** One stick: where its finger is, as a direction and a strength 0 to 1. */
class Stick {
  private pointer: number | null = null;
  /** Unit direction, or null while not held beyond the dead zone. */
  direction: Vec2 | null = null;
  held = false;

  constructor(private readonly base: HTMLElement, private readonly knob: HTMLElement) {
    base.addEventListener("pointerdown", (e) => {
      if (this.pointer !== null) return;
      this.pointer = e.pointerId;
      base.setPointerCapture(e.pointerId);
      this.held = true;
      this.follow(e);
      e.preventDefault();
    });
    base.addEventListener("pointermove", (e) => {
      if (e.pointerId === this.pointer) this.follow(e);
    });
    const release = (e: PointerEvent) => {
      if (e.pointerId !== this.pointer) return;
      this.pointer = null;
      this.held = false;
      this.direction = null;
      this.knob.style.transform = "";
    };
    base.addEventListener("pointerup", release);
    base.addEventListener("pointercancel", release);
  }

  private follow(e: PointerEvent): void {
    const r = this.base.getBoundingClientRect();
    const radius = r.width / 2;
    const dx = e.clientX - (r.left + radius);
    const dy = e.clientY - (r.top + radius);
    const len = Math.hypot(dx, dy);
    const reach = Math.min(len, radius);
    this.knob.style.transform = len > 0 ? `translate(${(dx / len) * reach}px, ${(dy / len) * reach}px)` : "";
    this.direction = len > DEAD_ZONE * radius ? [dx / len, dy / len] : null;
  }
}

/** The two sticks, shown only on touch screens. */
export class TouchSticks {
  readonly enabled: boolean;
  private readonly move: Stick;
  private readonly aim: Stick;

  constructor() {
    this.enabled = window.matchMedia("(pointer: coarse)").matches || navigator.maxTouchPoints > 0;
    show("sticks", this.enabled);
    document.body.classList.toggle("touch", this.enabled);
    this.move = new Stick(el("stick-move"), el("stick-move-knob"));
    this.aim = new Stick(el("stick-aim"), el("stick-aim-knob"));
  }

  /** The movement the left stick asks for (a unit direction), or null when it is not held. */
  movement(): Vec2 | null {
    return this.move.direction;
  }

  /** The aim of the right stick, radians, or null when it is not held beyond its dead zone. */
  aimAngle(): number | null {
    const d = this.aim.direction;
    return d ? Math.atan2(d[1], d[0]) : null;
  }

  /** The right stick fires while it is held beyond its dead zone. */
  firing(): boolean {
    return this.aim.direction !== null;
  }
}
