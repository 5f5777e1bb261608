/**
 * True when JSON text nests objects/arrays deeper than `max` (strings are skipped). A linear scan
 * run before JSON.parse, so a body of a million brackets is refused without building it.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
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
