// Base64 exactly as Go's base64.StdEncoding.DecodeString, which kube-apiserver uses for key secrets: standard
// alphabet, padding required, CR and LF skipped anywhere, anything else an error. Node's Buffer.from(s, 'base64')
// silently skips bad characters and accepts missing padding, so a key upstream rejects would load here.
// Unlike base64.StdEncoding.Strict(), Go's default decoder does not check that the unused bits of the last
// character are zero, so neither does this.

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes standard padded base64, or returns undefined. Never throws, so no message can carry the input. */
export function decodeStrictBase64(text: string): Buffer | undefined {
  const compact = text.replace(/[\r\n]/g, '');
  if (!STD_BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}
