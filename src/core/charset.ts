/**
 * Text in a named charset, for mail that declares one (or should have).
 *
 * Decoding is done in streaming mode on purpose: since v20.18.3 / v22.13.0, Node's one-shot
 * `TextDecoder("windows-1252").decode()` takes a Latin-1 fast path that turns bytes 0x80–0x9F (€, “ ”,
 * ‘ ’, –, …) into C1 control characters (nodejs/node#60888); the streaming path goes through ICU and
 * maps them as the WHATWG Encoding Standard says. For every other charset both paths agree.
 */

/** The bytes decoded as `label`, or undefined when TextDecoder does not know the label. */
export function decodeAs(bytes: Uint8Array, label: string): string | undefined {
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(label);
  } catch {
    return undefined;
  }
  return decoder.decode(bytes, { stream: true }) + decoder.decode();
}

/**
 * Text whose charset is declared (or not): the declared one when known; otherwise UTF-8 when the
 * bytes are valid UTF-8, else windows-1252, what undeclared legacy mail text almost always is.
 */
export function decodeDeclared(bytes: Uint8Array, declared: string | undefined): string {
  const asDeclared = declared ? decodeAs(bytes, declared) : undefined;
  if (asDeclared !== undefined) return asDeclared;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return decodeAs(bytes, "windows-1252") as string;
  }
}

const C1_CONTROL = /[\u0080-\u009f]/;
const C1_CONTROLS = /[\u0080-\u009f]/g;
/** What windows-1252 gives bytes 0x80–0x9F, one UTF-16 unit each (decoded once, on first use). */
let windows1252High: string | undefined;

/**
 * Text a parser decoded with Node's one-shot windows-1252 decoder (postal-mime does, for a body
 * declared windows-1252, latin1, iso-8859-1 or ascii) carries C1 control characters where the
 * message had €, “, ” and the like. C1 controls have no place in mail text, so each is mapped back
 * to the character windows-1252 gives its byte (five bytes map to themselves and stay).
 */
export function repairWindows1252(text: string): string;
export function repairWindows1252(text: string | undefined): string | undefined;
export function repairWindows1252(text: string | undefined): string | undefined {
  if (text === undefined || !C1_CONTROL.test(text)) return text;
  windows1252High ??= decodeAs(
    Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i),
    "windows-1252",
  ) as string;
  const table = windows1252High;
  return text.replace(C1_CONTROLS, (ch) => table.charAt(ch.charCodeAt(0) - 0x80));
}
