// Gamepads (the Gamepad API, "standard" mapping): the left stick moves, the right stick aims, the right
// trigger or bumper fires, Back/Select holds the scoreboard. Read every frame from the first pad that
// is connected, so plugging one in (or out) mid-game just works.
import type { Vec2 } from "./protocol";

/** Stick travel below this counts as centred (pads rest a little off zero). */
const DEAD_ZONE = 0.2;
/** Standard mapping: right bumper, right trigger, back/select. */
const FIRE_BUTTONS = [5, 7];
const SCORES_BUTTON = 8;

export interface PadState {
  movement: Vec2 | null;
  aim: number | null;
  firing: boolean;
  scoreboard: boolean;
}

/** The first connected pad's controls, or null when there is none. */
export function readGamepad(): PadState | null {
  const pads = navigator.getGamepads?.() ?? [];
  const pad = [...pads].find((p) => p?.connected);
  if (!pad) return null;
  const stick = (x: number, y: number): Vec2 | null => {
    const len = Math.hypot(x, y);
    return len > DEAD_ZONE ? [x / len, y / len] : null;
  };
  const left = stick(pad.axes[0] ?? 0, pad.axes[1] ?? 0);
  const right = stick(pad.axes[2] ?? 0, pad.axes[3] ?? 0);
  const pressed = (i: number) => Boolean(pad.buttons[i]?.pressed);
  return {
    movement: left,
    aim: right ? Math.atan2(right[1], right[0]) : null,
    firing: FIRE_BUTTONS.some(pressed),
    scoreboard: pressed(SCORES_BUTTON),
  };
}
