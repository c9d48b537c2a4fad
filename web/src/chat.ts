// The room's chat: a log of what players said (and who joined, left and was killed), and a box to say
// something: Enter opens it, Enter sends, Esc closes; `/w NAME text` whispers to one player. Lines are
// players' text: they are only ever set as textContent, never parsed as markup.
import { MAX_CHAT_CHARS } from "./limits";
import type { ChatLine } from "./protocol";
import { el, show, toast } from "./ui";

/** Lines kept in the log (older ones go). */
const LOG_LINES = 50;

export interface LogLine {
  kind: "chat" | "whisper" | "system";
  text: string;
}

/** Who to whisper to in `/w NAME text`: the longest name `rest` starts with (names may have spaces). */
export function parseWhisper(
  input: string,
  names: ReadonlyMap<number, string>,
): { to: number; text: string } | { error: string } | null {
  const m = /^\/w(?:hisper)?\s+(.*)$/is.exec(input.trim());
  if (!m) return null;
  const rest = m[1]!;
  let best: { id: number; name: string } | null = null;
  for (const [id, name] of names) {
    const starts = rest.toLowerCase().startsWith(`${name.toLowerCase()} `);
    if (starts && (!best || name.length > best.name.length)) best = { id, name };
  }
  if (!best) {
    const named = [...names.values()].some((name) => name.toLowerCase() === rest.trim().toLowerCase());
    return { error: named ? "Say something after the name" : `No player here is called ${rest.split(/\s+/)[0] ?? ""}` };
  }
  const text = rest.slice(best.name.length + 1).trim();
  return text ? { to: best.id, text } : { error: "Say something after the name" };
}

export class ChatBox {
  readonly lines: LogLine[] = [];
  private readonly keys = (e: KeyboardEvent) => this.onKey(e);
  private readonly input = el<HTMLInputElement>("chat-input");

  constructor(
    private readonly send: (text: string, to?: number) => void,
    private readonly names: ReadonlyMap<number, string>,
    private readonly me: () => number | null,
  ) {
    el("chat-log").replaceChildren();
    this.input.maxLength = MAX_CHAT_CHARS;
    this.input.value = "";
    show("chat-form", false);
    el("open-chat").onclick = () => this.openBox();
    el<HTMLFormElement>("chat-form").onsubmit = (e) => {
      e.preventDefault();
      this.submit();
    };
    window.addEventListener("keydown", this.keys);
  }

  dispose(): void {
    window.removeEventListener("keydown", this.keys);
    this.close();
  }

  get open(): boolean {
    return !el("chat-form").classList.contains("hidden");
  }

  private onKey(e: KeyboardEvent): void {
    if (e.target === this.input) {
      if (e.code === "Escape") {
        e.preventDefault();
        this.close();
      }
      return;
    }
    if (e.code === "Enter" && !(e.target instanceof HTMLInputElement)) {
      e.preventDefault();
      this.openBox();
    }
  }

  /** Opens the box and puts the cursor in it (Enter, or the Chat button on a touch screen). */
  openBox(): void {
    show("chat-form", true);
    this.input.focus();
  }

  private close(): void {
    this.input.value = "";
    this.input.blur();
    show("chat-form", false);
  }

  private submit(): void {
    const value = this.input.value.trim();
    if (!value) return this.close();
    const whisper = parseWhisper(value, this.names);
    if (whisper && "error" in whisper) return toast(whisper.error);
    if (whisper) this.send(whisper.text, whisper.to);
    else this.send(value);
    this.close();
  }

  /** A line from the server. */
  heard(line: ChatLine): void {
    const me = this.me();
    const name = (id: number) => (id === me ? "you" : (this.names.get(id) ?? `#${id}`));
    if (line.to === undefined || line.to === null) this.add({ kind: "chat", text: `${line.name}: ${line.text}` });
    else this.add({ kind: "whisper", text: `${line.from === me ? "you" : line.name} → ${name(line.to)}: ${line.text}` });
  }

  /** A join, a leave or a kill. */
  system(text: string): void {
    this.add({ kind: "system", text });
  }

  private add(line: LogLine): void {
    this.lines.push(line);
    if (this.lines.length > LOG_LINES) this.lines.shift();
    const log = el("chat-log");
    const li = document.createElement("li");
    li.className = `line-${line.kind}`;
    li.textContent = line.text;
    log.append(li);
    while (log.children.length > LOG_LINES) log.firstElementChild?.remove();
    log.scrollTop = log.scrollHeight;
  }
}
