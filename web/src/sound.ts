// Sound effects, made with Web Audio (oscillators and envelopes, no files to load): fire, a hit of
// one's own, being hit, a kill, a death, a pickup, a match starting and ending. Browsers let a page
// make sound only after the player's first gesture, so the audio context is created then and nothing
// plays before. Muting (the Sound button, or M) is remembered across visits.

const MUTED_KEY = "arena.muted";

export type Effect = "fire" | "hit" | "hurt" | "kill" | "death" | "pickup" | "start" | "end";

/** Each effect as notes: [start s, frequency Hz, end frequency Hz, length s, wave, volume]. */
const NOTES: Record<Effect, [number, number, number, number, OscillatorType, number][]> = {
  fire: [[0, 920, 460, 0.07, "square", 0.05]],
  hit: [[0, 1400, 1400, 0.06, "sine", 0.12]],
  hurt: [[0, 180, 90, 0.16, "sawtooth", 0.12]],
  kill: [
    [0, 660, 660, 0.08, "triangle", 0.14],
    [0.08, 880, 880, 0.08, "triangle", 0.14],
    [0.16, 1320, 1320, 0.14, "triangle", 0.14],
  ],
  death: [[0, 440, 70, 0.5, "sawtooth", 0.12]],
  pickup: [
    [0, 520, 520, 0.07, "sine", 0.12],
    [0.07, 780, 780, 0.1, "sine", 0.12],
  ],
  start: [
    [0, 440, 440, 0.12, "square", 0.06],
    [0.25, 440, 440, 0.12, "square", 0.06],
    [0.5, 880, 880, 0.25, "square", 0.06],
  ],
  end: [
    [0, 660, 660, 0.18, "triangle", 0.12],
    [0.18, 520, 520, 0.18, "triangle", 0.12],
    [0.36, 392, 392, 0.4, "triangle", 0.12],
  ],
};

export class Sound {
  private context: AudioContext | null = null;
  muted: boolean;
  /** Effects played (not muted, context running), by name: for the test hook. */
  readonly played: Partial<Record<Effect, number>> = {};

  constructor() {
    this.muted = localStorage.getItem(MUTED_KEY) === "1";
    const wake = () => {
      if (!this.context) {
        try {
          this.context = new AudioContext();
        } catch {
          return; // no Web Audio: a silent game
        }
      }
      void this.context.resume();
    };
    for (const type of ["pointerdown", "keydown", "touchstart"]) window.addEventListener(type, wake, { capture: true, passive: true });
  }

  /** Mutes or unmutes, and remembers it. */
  setMuted(muted: boolean): void {
    this.muted = muted;
    localStorage.setItem(MUTED_KEY, muted ? "1" : "0");
  }

  play(effect: Effect): void {
    const ctx = this.context;
    if (this.muted || !ctx || ctx.state !== "running") return;
    this.played[effect] = (this.played[effect] ?? 0) + 1;
    const now = ctx.currentTime;
    for (const [start, from, to, length, wave, volume] of NOTES[effect]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = wave;
      osc.frequency.setValueAtTime(from, now + start);
      osc.frequency.exponentialRampToValueAtTime(to, now + start + length);
      gain.gain.setValueAtTime(volume, now + start);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + start + length);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + start);
      osc.stop(now + start + length + 0.02);
    }
  }

  /** For the test hook: whether sound can play, and what played. */
  state() {
    return { context: this.context?.state ?? "none", muted: this.muted, played: { ...this.played } };
  }
}
