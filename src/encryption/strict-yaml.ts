// YAML (and so JSON) into plain values, strict like kube-apiserver's config decoding: a field repeated in one object is
// an error naming its path. Maps become Map<string, unknown> so field names such as "__proto__" are just names.
// Parser messages are not passed on: some quote the source text (a bad escape inside a quoted key secret, say), and
// no message may carry key material, so only the error code and the position are reported.
import { Alias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { InvalidError } from '../lib/errors.js';

export interface StrictYamlResult {
  /** undefined when the text holds no document (only comments or whitespace). */
  value: unknown;
  errors: InvalidError[];
}

/** The path of a field below `parent`, as `resources[0].providers[1].kms`. */
export function childPath(parent: string, field: string): string {
  return parent === '' ? field : `${parent}.${field}`;
}

/**
 * A field name as it may appear in a message. Upstream names are short identifiers; anything else (such as a
 * base64 secret mistakenly indented into key position) is withheld so that no error echoes key material.
 */
export function printableFieldName(name: string): string {
  return /^[A-Za-z][A-Za-z0-9_-]{0,19}$/.test(name) ? name : '<field name withheld>';
}

export function parseStrictYaml(text: string): StrictYamlResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, lineCounter, version: '1.2' });
  const errors = doc.errors.map((e) => {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    return new InvalidError(`invalid YAML at line ${line}, column ${col} (${e.code})`);
  });
  if (errors.length > 0) return { value: undefined, errors };
  const value = doc.contents === null ? undefined : toPlain(doc.contents, '', doc, errors, new Set());
  return { value, errors };
}

function toPlain(node: unknown, path: string, doc: Document, errors: InvalidError[], visiting: Set<unknown>): unknown {
  if (node instanceof Alias) {
    const target = node.resolve(doc);
    if (target === undefined || visiting.has(target)) {
      errors.push(new InvalidError(`unresolvable or recursive YAML alias`, { field: path || '<root>' }));
      return null;
    }
    visiting.add(target);
    const value = toPlain(target, path, doc, errors, visiting);
    visiting.delete(target);
    return value;
  }
  if (isScalar(node)) return node.value ?? null;
  if (isSeq(node)) return node.items.map((item, i) => toPlain(item, `${path}[${i}]`, doc, errors, visiting));
  if (isMap(node)) {
    const out = new Map<string, unknown>();
    for (const pair of node.items) {
      if (!isScalar(pair.key)) {
        const message = 'strict decoding error: a map key must be a plain value';
        errors.push(new InvalidError(message, { field: path || '<root>' }));
        continue;
      }
      const name = String(pair.key.value);
      const fieldPath = childPath(path, printableFieldName(name));
      if (out.has(name)) errors.push(new InvalidError(`strict decoding error: duplicate field "${fieldPath}"`));
      out.set(name, pair.value === null ? null : toPlain(pair.value, fieldPath, doc, errors, visiting));
    }
    return out;
  }
  return null;
}
