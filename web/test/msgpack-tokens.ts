// A MessagePack reader for tests that keeps what a decoded value loses: the format of each item. With it a
// test can say how two encodings of one value differ (say, float 32 against float 64) without trusting the
// encoder under test or @msgpack/msgpack. It reads the formats the client's messages use and refuses others.

export type Kind = "int" | "float32" | "float64" | "str" | "nil" | "bool" | "array" | "map";

/** One MessagePack item in reading order; an array or map has its length as `value`, its items follow. */
export interface Token {
  kind: Kind;
  value: number | string | boolean | null;
  /** The item's own bytes (without an array's or map's items), as hex. */
  hex: string;
}

export const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

export function tokens(bytes: Uint8Array): Token[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Token[] = [];
  let i = 0;
  const str = (n: number): string => new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(i, (i += n)));
  while (i < bytes.length) {
    const start = i;
    const f = bytes[i++]!;
    let kind: Kind;
    let value: Token["value"];
    if (f <= 0x7f) [kind, value] = ["int", f];
    else if (f <= 0x8f) [kind, value] = ["map", f & 0x0f];
    else if (f <= 0x9f) [kind, value] = ["array", f & 0x0f];
    else if (f <= 0xbf) [kind, value] = ["str", str(f & 0x1f)];
    else if (f >= 0xe0) [kind, value] = ["int", f - 0x100];
    else if (f === 0xc0) [kind, value] = ["nil", null];
    else if (f === 0xc2 || f === 0xc3) [kind, value] = ["bool", f === 0xc3];
    else if (f === 0xca) [kind, value] = ["float32", view.getFloat32((i += 4) - 4)];
    else if (f === 0xcb) [kind, value] = ["float64", view.getFloat64((i += 8) - 8)];
    else if (f === 0xcc) [kind, value] = ["int", view.getUint8((i += 1) - 1)];
    else if (f === 0xcd) [kind, value] = ["int", view.getUint16((i += 2) - 2)];
    else if (f === 0xce) [kind, value] = ["int", view.getUint32((i += 4) - 4)];
    else if (f === 0xd0) [kind, value] = ["int", view.getInt8((i += 1) - 1)];
    else if (f === 0xd1) [kind, value] = ["int", view.getInt16((i += 2) - 2)];
    else if (f === 0xd2) [kind, value] = ["int", view.getInt32((i += 4) - 4)];
    else if (f === 0xd9) [kind, value] = ["str", str(bytes[i++]!)];
    else throw new Error(`format 0x${f.toString(16)} at byte ${start}: not one this reader knows`);
    if (i > bytes.length) throw new Error(`item at byte ${start} runs past the end`);
    out.push({ kind, value, hex: hexOf(bytes.subarray(start, i)) });
  }
  return out;
}
