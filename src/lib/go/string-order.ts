// Go compares strings bytewise, that is in UTF-8 (code point) order; JavaScript's `<` and default sort compare UTF-16
// units, which disagree when a surrogate (a code point above U+FFFF) meets U+E000..U+FFFF. Go writes map entries in
// this order (encoding/json, gogo protobuf's deterministic maps), so every encoder that must match Go's bytes uses it.

/** Go's string comparison (strings.Compare), as a sort comparator. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code point order only when a surrogate meets U+E000..U+FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** The keys of a map in Go's order. */
export function sortedKeys(map: object): string[] {
  const keys = Object.keys(map);
  if (keys.length > 1) keys.sort(compareUtf8);
  return keys;
}
