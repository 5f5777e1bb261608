/**
 * True when JSON text (as UTF-8 bytes) nests objects/arrays deeper than `max`; strings are
 * skipped. A linear scan of the bytes run before JSON.parse, so a body of a million brackets is
 * refused without being built. UTF-8 continuation bytes are never ASCII, so scanning bytes is exact.
 */
export function jsonDepthExceeds(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}
