// A set of field paths, as structured-merge-diff's fieldpath.Set: what one manager owns, what an operation changed.
// Paths are lists of FieldsV1 segments - `f:<field>` (struct field or map key), `k:{"uid":"..."}` (associative list
// item), `v:"value"` (set item), `i:<n>` (positional item) - so a set converts to and from the `fieldsV1` JSON of
// metadata.managedFields (sigs.k8s.io/structured-merge-diff fieldpath/serialize.go) without translation.

export type FieldPath = readonly string[];

const KIND_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** structured-merge-diff's PathElement order: fields, then keys, then values, then indexes; each sorted. */
export function compareSegments(a: string, b: string): number {
  const ka = KIND_ORDER[a[0]!] ?? 9;
  const kb = KIND_ORDER[b[0]!] ?? 9;
  if (ka !== kb) return ka - kb;
  if (a[0] === 'i') return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A trie node: `member` says the path leading here is itself in the set (FieldsV1 `".": {}` or a leaf `{}`). */
interface Node {
  member: boolean;
  children: Map<string, Node>;
}

function newNode(): Node {
  return { member: false, children: new Map() };
}

function nodeIsEmpty(node: Node): boolean {
  if (node.member) return false;
  for (const c of node.children.values()) if (!nodeIsEmpty(c)) return false;
  return true;
}

function nodeToFieldsV1(node: Node): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (node.member && node.children.size > 0) out['.'] = {};
  for (const seg of [...node.children.keys()].sort(compareSegments)) {
    const child = node.children.get(seg)!;
    if (!nodeIsEmpty(child)) out[seg] = nodeToFieldsV1(child);
  }
  return out;
}

function nodeFromFieldsV1(json: Record<string, unknown>): Node {
  const node = newNode();
  for (const [key, value] of Object.entries(json)) {
    if (key === '.') node.member = true;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const child = nodeFromFieldsV1(value as Record<string, unknown>);
      if (Object.keys(value).length === 0) child.member = true;
      node.children.set(key, child);
    }
  }
  return node;
}

export class FieldSet {
  private readonly root: Node;

  private constructor(root: Node = newNode()) {
    this.root = root;
  }

  static empty(): FieldSet {
    return new FieldSet();
  }

  static of(paths: Iterable<FieldPath>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Decodes a `fieldsV1` JSON object; anything else is the empty set. */
  static fromFieldsV1(fields: unknown): FieldSet {
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return new FieldSet();
    const root = nodeFromFieldsV1(fields as Record<string, unknown>);
    root.member = false; // the root path is never owned
    return new FieldSet(root);
  }

  insert(path: FieldPath): void {
    let node = this.root;
    for (const seg of path) {
      let next = node.children.get(seg);
      if (!next) node.children.set(seg, (next = newNode()));
      node = next;
    }
    node.member = true;
  }

  private find(path: FieldPath): Node | undefined {
    let node: Node | undefined = this.root;
    for (const seg of path) {
      node = node.children.get(seg);
      if (!node) return undefined;
    }
    return node;
  }

  has(path: FieldPath): boolean {
    return this.find(path)?.member ?? false;
  }

  /** Whether the set holds `path` or any path below it. */
  hasAtOrBelow(path: FieldPath): boolean {
    const node = this.find(path);
    return node !== undefined && !nodeIsEmpty(node);
  }

  isEmpty(): boolean {
    return nodeIsEmpty(this.root);
  }

  /** Every path, in structured-merge-diff's iteration order: a node's members first, then its children's paths. */
  paths(): FieldPath[] {
    const out: FieldPath[] = [];
    const walk = (node: Node, prefix: string[]) => {
      const segs = [...node.children.keys()].sort(compareSegments);
      for (const seg of segs) if (node.children.get(seg)!.member) out.push([...prefix, seg]);
      for (const seg of segs) walk(node.children.get(seg)!, [...prefix, seg]);
    };
    walk(this.root, []);
    return out;
  }

  union(other: FieldSet): FieldSet {
    return FieldSet.of([...this.paths(), ...other.paths()]);
  }

  difference(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => !other.has(p)));
  }

  intersection(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => other.has(p)));
  }

  /** Without `prefix` and everything below it (structured-merge-diff's RecursiveDifference for one path). */
  withoutSubtree(prefix: FieldPath): FieldSet {
    return FieldSet.of(this.paths().filter((p) => !(p.length >= prefix.length && prefix.every((s, i) => p[i] === s))));
  }

  /** The `fieldsV1` JSON: children sorted, `".": {}` first where a node is owned and has children. */
  toFieldsV1(): Record<string, unknown> {
    return nodeToFieldsV1(this.root);
  }
}

/** `{"uid":"a"}` -> `uid="a"` (fields joined by `,`); text that is not a JSON object is shown as it is. */
function keyFields(json: string): string {
  try {
    const key = JSON.parse(json) as unknown;
    if (key !== null && typeof key === 'object' && !Array.isArray(key)) {
      return Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
    }
  } catch {
    // fall through: a malformed segment from a client-written managedFields entry
  }
  return json;
}

/** A path as kube prints it in conflict messages: `.data.password`, `.metadata.ownerReferences[uid="x"]`, `[="v"]`. */
export function renderPath(path: FieldPath): string {
  return path
    .map((seg) => {
      const body = seg.slice(2);
      switch (seg[0]) {
        case 'f':
          return `.${body}`;
        case 'k':
          return `[${keyFields(body)}]`;
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}
