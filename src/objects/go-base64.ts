// Go's base64.StdEncoding.Decode, which encoding/json uses for []byte fields (Secret data, ConfigMap binaryData):
// standard alphabet, padding required, CR and LF skipped anywhere, and on failure a CorruptInputError whose offset
// kube prints (`illegal base64 data at input byte 4`). Ported from the rules of encoding/base64's decodeQuantum.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

const isNewline = (c: number) => c === 0x0a || c === 0x0d;

/** The byte offset Go reports for `text`, or undefined when Go decodes it. `text` is read as its UTF-8 bytes. */
export function goBase64ErrorOffset(text: string): number | undefined {
  const src = Buffer.from(text, 'utf8');
  let si = 0;
  while (si < src.length) {
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return undefined;
        return si - j; // a quantum cut short: padding was required
      }
      const c = src[si++]!;
      if (c < 128 && VALUE[c]! >= 0) continue;
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== 0x3d) return si - 1;
      // Padding: only after two or three characters of a quantum.
      if (j < 2) return si - 1;
      if (j === 2) {
        while (si < src.length && isNewline(src[si]!)) si++;
        if (si === src.length) return src.length;
        if (src[si] !== 0x3d) return si - 1;
        si++;
      }
      while (si < src.length && isNewline(src[si]!)) si++;
      return si < src.length ? si : undefined; // anything after the padding is trailing garbage
    }
  }
  return undefined;
}

/** kube's decoding error text for an invalid base64 []byte value. */
export function illegalBase64Message(offset: number): string {
  return `illegal base64 data at input byte ${offset}`;
}
