// Draws a frame on the canvas: the arena scaled to fit the window (crisp at any devicePixelRatio),
// walls, pickups, projectiles, and ships with names and health bars.
import { type MapInfo, pickupUp, type TuningInfo } from "./protocol";

export interface ShipView {
  id: number;
  x: number;
  y: number;
  aim: number;
  health: number;
  name: string;
  me: boolean;
  /** 0 to 1: how bright the flash of one's own hit on this ship still is (0 = none). */
  flash?: number;
}

/** A confirmed hit of one's own: a marker on the ship hit, fading over `age` 0 to 1. */
export interface HitMarker {
  x: number;
  y: number;
  age: number;
}

/** Visual feedback, `age` 0 (new) to 1 (gone). */
export interface EffectView {
  kind: "flash" | "burst" | "damage" | "hurt";
  x: number;
  y: number;
  age: number;
  color?: string;
  /** For `damage`: the number shown. */
  text?: string;
  /** For `hurt`: where the shot came from, radians. */
  angle?: number;
}

export interface ProjectileView {
  x: number;
  y: number;
  owner: number;
}

export interface Frame {
  map: MapInfo;
  tuning: TuningInfo;
  ships: ShipView[];
  projectiles: ProjectileView[];
  /** Bit set of available pickups. */
  pickups: number;
  /** One's own confirmed hits. */
  hits?: HitMarker[];
  /** Muzzle flashes, death bursts, damage numbers and who hit us. */
  effects?: EffectView[];
}

/** How far the camera zooms in on a followed player (the replay viewer's and a spectator's), over the whole-arena fit. */
export const FOLLOW_ZOOM = 1.8;

export function colorFor(id: number): string {
  const hue = (id * 137.508) % 360;
  return `hsl(${hue.toFixed(0)} 75% 60%)`;
}

export class Renderer {
  private readonly ctx: CanvasRenderingContext2D;
  private scale = 1;
  private originX = 0;
  private originY = 0;
  /** Whether the last resize followed a point (so ships may be off screen). */
  private following = false;

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2D canvas");
    this.ctx = ctx;
  }

  /**
   * Matches the canvas to its CSS size times devicePixelRatio, and fits the arena in it; with a `focus`,
   * zooms in `focus.zoom` times on that point instead (the replay viewer following a player), keeping
   * the arena's edges on screen where it is larger than the view.
   */
  resize(map: MapInfo, focus?: { x: number; y: number; zoom: number }): void {
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth;
    const h = this.canvas.clientHeight;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    const margin = 16 * dpr;
    const [mw, mh] = map.size;
    const { width, height } = this.canvas;
    const fit = Math.min((width - 2 * margin) / mw, (height - 2 * margin) / mh);
    this.scale = fit * Math.max(1, focus?.zoom ?? 1);
    // Centred on the focus (or the arena), then pulled back so no more than the margin shows beyond an
    // edge of an arena wider (or taller) than the view.
    const centre = (view: number, size: number, at: number) => {
      const span = size * this.scale;
      if (span + 2 * margin <= view) return (view - span) / 2;
      return Math.min(margin, Math.max(view - span - margin, view / 2 - at * this.scale));
    };
    this.following = focus !== undefined && focus.zoom > 1;
    this.originX = centre(width, mw, focus?.x ?? mw / 2);
    this.originY = centre(height, mh, focus?.y ?? mh / 2);
  }

  /** The scale that fits the whole arena in the canvas, CSS pixels per arena unit. */
  fitScale(map: MapInfo): number {
    const margin = 16;
    const [mw, mh] = map.size;
    return Math.max(1e-6, Math.min((this.canvas.clientWidth - 2 * margin) / mw, (this.canvas.clientHeight - 2 * margin) / mh));
  }

  /** How the arena is drawn now: its scale in CSS pixels per unit, and whether the camera follows a point. */
  camera(): { scale: number; following: boolean } {
    return { scale: this.scale / (window.devicePixelRatio || 1), following: this.following };
  }

  /** Arena coordinates of a point in CSS pixels. */
  toArena(cssX: number, cssY: number): [number, number] {
    const dpr = window.devicePixelRatio || 1;
    return [(cssX * dpr - this.originX) / this.scale, (cssY * dpr - this.originY) / this.scale];
  }

  /** CSS pixel position of an arena point. */
  toScreen(x: number, y: number): { x: number; y: number } {
    const dpr = window.devicePixelRatio || 1;
    return { x: (x * this.scale + this.originX) / dpr, y: (y * this.scale + this.originY) / dpr };
  }

  draw(frame: Frame): void {
    const { ctx } = this;
    const { map, tuning } = frame;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#0b0e14";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(this.scale, 0, 0, this.scale, this.originX, this.originY);

    const [w, h] = map.size;
    ctx.fillStyle = "#131925";
    ctx.fillRect(0, 0, w, h);
    ctx.strokeStyle = "#1c2433";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = 100; x < w; x += 100) {
      ctx.moveTo(x, 0);
      ctx.lineTo(x, h);
    }
    for (let y = 100; y < h; y += 100) {
      ctx.moveTo(0, y);
      ctx.lineTo(w, y);
    }
    ctx.stroke();
    ctx.strokeStyle = "#3a4660";
    ctx.lineWidth = 4;
    ctx.strokeRect(0, 0, w, h);

    ctx.fillStyle = "#39445c";
    for (const [x, y, ww, hh] of map.walls) ctx.fillRect(x, y, ww, hh);

    map.pickups.forEach(([x, y], i) => {
      const up = pickupUp(frame.pickups, i);
      ctx.globalAlpha = up ? 1 : 0.2;
      ctx.fillStyle = "#56d364";
      const r = tuning.pickup_radius * 0.6;
      ctx.fillRect(x - r, y - r / 3, 2 * r, (2 * r) / 3);
      ctx.fillRect(x - r / 3, y - r, (2 * r) / 3, 2 * r);
      ctx.globalAlpha = 1;
    });

    for (const p of frame.projectiles) {
      ctx.fillStyle = colorFor(p.owner);
      ctx.beginPath();
      ctx.arc(p.x, p.y, tuning.projectile_radius, 0, Math.PI * 2);
      ctx.fill();
    }

    const r = tuning.ship_radius;
    for (const s of frame.ships) {
      ctx.fillStyle = colorFor(s.id);
      ctx.beginPath();
      ctx.arc(s.x, s.y, r, 0, Math.PI * 2);
      ctx.fill();
      if (s.me) {
        ctx.strokeStyle = "#ffffff";
        ctx.lineWidth = 3;
        ctx.stroke();
      }
      if (s.flash) {
        ctx.globalAlpha = s.flash;
        ctx.fillStyle = "#ffffff";
        ctx.fill();
        ctx.globalAlpha = 1;
      }
      ctx.strokeStyle = "#e6e9ef";
      ctx.lineWidth = 4;
      ctx.beginPath();
      ctx.moveTo(s.x, s.y);
      ctx.lineTo(s.x + Math.cos(s.aim) * r * 1.6, s.y + Math.sin(s.aim) * r * 1.6);
      ctx.stroke();

      const barW = r * 2.4;
      const frac = Math.max(0, Math.min(1, s.health / tuning.max_health));
      ctx.fillStyle = "#2a3040";
      ctx.fillRect(s.x - barW / 2, s.y - r - 14, barW, 6);
      ctx.fillStyle = frac > 0.5 ? "#56d364" : frac > 0.25 ? "#e3b341" : "#f85149";
      ctx.fillRect(s.x - barW / 2, s.y - r - 14, barW * frac, 6);
      ctx.fillStyle = "#e6e9ef";
      ctx.font = "16px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(s.name, s.x, s.y - r - 20);
    }

    this.drawEffects(frame.effects ?? [], tuning.ship_radius);
    if (this.following) this.drawOffscreen(frame.ships);

    // Hit markers: a cross that opens out and fades, on the ship one's shot hit.
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 3;
    for (const m of frame.hits ?? []) {
      // Just outside the ship, opening out as it fades.
      const inner = r * (1.15 + 0.5 * m.age);
      const outer = inner + r * 0.6;
      ctx.globalAlpha = 1 - m.age;
      ctx.beginPath();
      for (const [dx, dy] of [[1, 1], [1, -1], [-1, 1], [-1, -1]] as const) {
        ctx.moveTo(m.x + dx * inner * Math.SQRT1_2, m.y + dy * inner * Math.SQRT1_2);
        ctx.lineTo(m.x + dx * outer * Math.SQRT1_2, m.y + dy * outer * Math.SQRT1_2);
      }
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  /** A small arrow at the edge of the view toward each ship beyond it, in the ship's colour. */
  private drawOffscreen(ships: ShipView[]): void {
    const { ctx } = this;
    const { width, height } = this.canvas;
    const edge = 18 * (window.devicePixelRatio || 1);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    for (const s of ships) {
      const x = s.x * this.scale + this.originX;
      const y = s.y * this.scale + this.originY;
      if (s.me || (x >= 0 && x <= width && y >= 0 && y <= height)) continue;
      const cx = Math.min(Math.max(x, edge), width - edge);
      const cy = Math.min(Math.max(y, edge), height - edge);
      const angle = Math.atan2(y - cy, x - cx);
      ctx.save();
      ctx.translate(cx, cy);
      ctx.rotate(angle);
      ctx.fillStyle = colorFor(s.id);
      ctx.beginPath();
      ctx.moveTo(edge * 0.7, 0);
      ctx.lineTo(-edge * 0.4, -edge * 0.45);
      ctx.lineTo(-edge * 0.4, edge * 0.45);
      ctx.closePath();
      ctx.fill();
      ctx.restore();
    }
    ctx.setTransform(this.scale, 0, 0, this.scale, this.originX, this.originY);
  }

  private drawEffects(effects: EffectView[], r: number): void {
    const { ctx } = this;
    for (const e of effects) {
      const fade = Math.max(0, 1 - e.age);
      ctx.globalAlpha = fade;
      switch (e.kind) {
        case "flash":
          ctx.fillStyle = e.color ?? "#ffffff";
          ctx.beginPath();
          ctx.arc(e.x, e.y, r * 0.45 * (1 + e.age), 0, Math.PI * 2);
          ctx.fill();
          break;
        case "burst":
          ctx.strokeStyle = e.color ?? "#ffffff";
          ctx.lineWidth = 3;
          ctx.beginPath();
          ctx.arc(e.x, e.y, r * (1 + 2.5 * e.age), 0, Math.PI * 2);
          ctx.stroke();
          ctx.fillStyle = e.color ?? "#ffffff";
          for (let i = 0; i < 10; i++) {
            const a = (i / 10) * Math.PI * 2;
            const d = r * (0.5 + 3 * e.age);
            ctx.fillRect(e.x + Math.cos(a) * d - 3, e.y + Math.sin(a) * d - 3, 6, 6);
          }
          break;
        case "damage":
          ctx.fillStyle = "#ff7b72";
          ctx.font = "bold 18px system-ui, sans-serif";
          ctx.textAlign = "center";
          ctx.fillText(e.text ?? "", e.x + r, e.y - r - 10 - 30 * e.age);
          break;
        case "hurt": {
          const a = e.angle ?? 0;
          ctx.strokeStyle = "#f85149";
          ctx.lineWidth = 6;
          ctx.beginPath();
          ctx.arc(e.x, e.y, r * 1.9, a - 0.45, a + 0.45);
          ctx.stroke();
          break;
        }
      }
    }
    ctx.globalAlpha = 1;
  }
}
