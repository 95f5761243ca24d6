// A bound on how deeply a request body nests, checked before any parser sees it. kube's decoder stops at 10,000
// levels (Go's encoding/json maxNestingDepth, "exceeded max depth"); Node cannot go that deep: the yaml parser overflows
// its stack near 1,000 levels and has crashed the process at 2,000, JSON.stringify and structuredClone overflow near
// 5,000, the patch algorithms are recursive. Coffer therefore refuses more than MAX_NESTING_DEPTH levels, far beyond any
// real object, with Go's text, so every later step (decode, patch, validate, encode) runs within the stack.
import { Lexer } from 'yaml';

export const MAX_NESTING_DEPTH = 500;

/** Go's error text (encoding/json scanner). */
export const DEPTH_ERROR = 'exceeded max depth';

/** True when JSON text nests objects and arrays deeper than the bound. Linear, no recursion, strings skipped. */
export function jsonTooDeep(bytes: Uint8Array, max = MAX_NESTING_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Lexer control tokens (document, scalar and flow-error markers, BOM) take no room on the line. */
function isControl(token: string): boolean {
  if (token.length !== 1) return false;
  const c = token.charCodeAt(0);
  return c <= 0x08 || (c >= 0x0e && c <= 0x1f) || c === 0xfeff;
}
const BLOCK_INDICATORS = new Set(['-', '?', ':']);

/**
 * True when YAML text may nest deeper than the bound: flow collections are counted exactly from yaml's own lexer
 * (quotes, comments and block scalars as the parser reads them), block nesting by the column a line's content starts
 * at (each block level needs at least one more column, `- - x` two). Over-estimates, never under-estimates.
 */
export function yamlTooDeep(text: string, max = MAX_NESTING_DEPTH): boolean {
  let flow = 0;
  let column = 0;
  let lineContent = -1;
  for (const token of new Lexer().lex(text)) {
    if (isControl(token)) continue;
    if (token === '{' || token === '[') flow++;
    else if (token === '}' || token === ']') flow--;
    if (lineContent < 0 && token.trim() !== '' && !BLOCK_INDICATORS.has(token)) lineContent = column;
    if (lineContent >= 0 && lineContent + 1 + flow > max) return true;
    const newline = token.lastIndexOf('\n');
    if (newline >= 0) {
      column = token.length - newline - 1;
      lineContent = -1;
    } else column += token.length;
  }
  return false;
}

/** JSON when the text starts as a JSON document does (what kube's YAML-or-JSON decoder sniffs), else YAML. */
export function bodyTooDeep(bytes: Uint8Array, max = MAX_NESTING_DEPTH): boolean {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const first = text.trimStart()[0];
  return first === '{' || first === '[' ? jsonTooDeep(bytes, max) : yamlTooDeep(text, max);
}
