// deploy/Dockerfile read as text, on any machine (test/image.test.ts builds and runs the image, opt-in): its stages
// and what crosses between them, that the final stage runs no shell (no RUN, exec-form ENTRYPOINT through tini) as a numeric non-root user,
// that every file it copies from the build context exists and passes deploy/Dockerfile.dockerignore, that the image
// holds what the package's run time needs where the ENTRYPOINT looks for it, and that the manifests in deploy/ name
// this image, its user and `coffer` subcommands that exist.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { COMMANDS } from '../src/cli/command-table.js';

const ROOT = new URL('..', import.meta.url).pathname;

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Dockerfile instructions: comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    if (/^\s*#/.test(raw)) return; // also inside a continuation
    const continues = /\\\s*$/.test(raw);
    const piece = raw.replace(/\\\s*$/, '');
    pending = pending ? { text: `${pending.text} ${piece.trim()}`, line: pending.line } : { text: piece.trim(), line: i + 1 };
    if (continues) return;
    if (pending.text) {
      const m = /^(\S+)\s*(.*)$/.exec(pending.text)!;
      out.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: pending.line });
    }
    pending = undefined;
  });
  return out;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** The stages, with each FROM's `${ARG}` replaced by the default of an ARG declared before the first FROM. */
function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  const globalArgs = new Map<string, string>();
  for (const ins of instructions) {
    if (ins.op === 'ARG' && stages.length === 0) {
      const m = /^(\w+)(?:=(\S*))?$/.exec(ins.args);
      assert.ok(m, `line ${ins.line}: ARG ${ins.args}`);
      globalArgs.set(m[1]!, m[2] ?? '');
    } else if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `line ${ins.line}: FROM ${ins.args}`);
      const from = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => {
        const value = globalArgs.get((a ?? b)!);
        assert.ok(value !== undefined, `line ${ins.line}: FROM uses ${a ?? b}, not declared by an ARG before the first FROM`);
        return value;
      });
      stages.push({ from, ...(m[2] ? { name: m[2] } : {}), instructions: [] });
    } else {
      assert.ok(stages.length > 0, `line ${ins.line}: ${ins.op} before any FROM`);
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return stages;
}

/** COPY [--from=x] [--chown=..] src... dest, one entry per source, resolved against the stage's WORKDIR then. */
interface Copy {
  from?: string;
  sources: string[];
  dest: string;
  line: number;
}

function copiesOf(stage: Stage): Copy[] {
  let workdir = '/';
  const out: Copy[] = [];
  for (const ins of stage.instructions) {
    if (ins.op === 'WORKDIR') workdir = posix.resolve(workdir, ins.args);
    if (ins.op !== 'COPY') continue;
    const words = ins.args.split(/\s+/);
    const flags = words.filter((w) => w.startsWith('--'));
    const paths = words.filter((w) => !w.startsWith('--'));
    const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
    const sources = paths.slice(0, -1);
    const dest = paths.at(-1)!;
    // A destination ending in / (or `.`) is a directory the sources go into, each under its own name.
    const intoDir = dest.endsWith('/') || dest === '.';
    for (const src of sources) out.push({ ...(from ? { from } : {}), sources: [src], dest: posix.resolve(workdir, dest, intoDir ? posix.basename(src) : ''), line: ins.line });
  }
  return out;
}

/** Docker's ignore-file rules: the last pattern that matches a path decides; `!` re-includes. */
function ignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!');
      const glob = (negated ? l.slice(1) : l).replace(/^\/+/, '');
      const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\/?|\*|\?/g, (t) => (t.startsWith('**') ? '.*' : t === '*' ? '[^/]*' : '[^/]'));
      return { negated, re: new RegExp(`^${re}(/.*)?$`) };
    });
  return (path) => {
    let ignored = false;
    for (const r of rules) if (r.re.test(path)) ignored = !r.negated;
    return ignored;
  };
}

function filesUnder(rel: string): string[] {
  const abs = join(ROOT, rel);
  if (!statSync(abs).isDirectory()) return [rel];
  return readdirSync(abs, { withFileTypes: true }).flatMap((e) => filesUnder(posix.join(rel, e.name)));
}

const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
const stages = stagesOf(parseDockerfile(dockerfile));
const final = stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; files: string[] };

void describe('deploy/Dockerfile', () => {
  void it('builds in a named stage and copies from it only into a later stage', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.equal(stages[0]!.name, 'build');
    const names = new Set<string>();
    for (const s of stages) {
      for (const c of copiesOf(s)) if (c.from) assert.ok(names.has(c.from), `line ${c.line}: --from=${c.from} names no earlier stage`);
      if (s.name) names.add(s.name);
    }
    const build = stages[0]!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.ok(build.some((r) => /npm ci\b/.test(r)), 'installs from the lock file');
    // A registry or CA other than npm's defaults comes in as build secrets, mounted for that step only: an ARG or ENV
    // would be kept in the image's history.
    const install = build.find((r) => /npm ci\b/.test(r))!;
    assert.match(install, /--mount=type=secret,id=npmrc,target=\/root\/\.npmrc\b/);
    assert.match(install, /--mount=type=secret,id=npm_ca\b/);
    for (const s of stages) for (const i of s.instructions) if (i.op === 'ARG' || i.op === 'ENV') assert.doesNotMatch(i.args, /registry|cafile|npmrc|_auth|token/i, `line ${i.line}`);
    assert.ok(build.some((r) => /npm run build\b/.test(r) && /npm prune --omit=dev\b/.test(r)), 'compiles, then drops development dependencies');
    assert.equal(stages[0]!.from, final.from, 'the runtime has the Node the native modules were built for');
    assert.equal(final.from, 'node:20-bookworm-slim', 'by default (NODE_IMAGE), the Node 20 Debian bookworm slim image');
  });

  void it('runs no shell in the final stage: no RUN, exec-form ENTRYPOINT through tini, as a numeric non-root user', () => {
    for (const op of ['RUN', 'SHELL', 'ONBUILD']) assert.equal(final.instructions.filter((i) => i.op === op).length, 0, `${op} in the final stage`);
    const user = final.instructions.filter((i) => i.op === 'USER').at(-1);
    assert.ok(user, 'USER set');
    const [uid, gid] = user.args.split(':');
    assert.match(uid!, /^\d+$/, 'numeric, so runAsNonRoot can be checked');
    assert.notEqual(Number(uid), 0);
    if (gid !== undefined) assert.notEqual(Number(gid), 0);
    for (const op of ['ENTRYPOINT', 'CMD']) {
      const ins = final.instructions.filter((i) => i.op === op).at(-1);
      assert.ok(ins, op);
      assert.ok(Array.isArray(JSON.parse(ins.args)), `${op} in exec form (a shell form would need /bin/sh)`);
    }
    // `coffer up` writes its state into the WORKDIR: it must exist in the image owned by USER, or the runtime creates
    // it owned by root (and a volume mounted there starts as root's).
    const workdir = final.instructions.filter((i) => i.op === 'WORKDIR').at(-1)!.args;
    assert.ok(
      final.instructions.some((i) => i.op === 'COPY' && i.args.includes(`--chown=${user.args} `) && i.args.endsWith(` ${workdir}`)),
      `${workdir} is created owned by ${user.args}`,
    );
    const entrypoint = JSON.parse(final.instructions.filter((i) => i.op === 'ENTRYPOINT').at(-1)!.args) as string[];
    assert.match(entrypoint[0]!, /\/tini$/, 'tini forwards signals and reaps the children coffer up supervises');
    assert.equal(entrypoint[1], '--');
    const tini = copiesOf(final).find((c) => c.dest === entrypoint[0]);
    assert.ok(tini?.from, 'tini comes from the build stage');
    assert.match(tini.sources[0]!, /tini-static$/, 'the static build: the runtime image has no libc guarantees for it');
  });

  void it('copies from the build context only files that exist and that the ignore file lets through', () => {
    const ignored = ignoreMatcher(readFileSync(join(ROOT, 'deploy/Dockerfile.dockerignore'), 'utf8'));
    for (const s of stages) {
      for (const c of copiesOf(s)) {
        if (c.from) continue;
        for (const src of c.sources) {
          assert.ok(existsSync(join(ROOT, src)), `line ${c.line}: ${src} does not exist`);
          const sent = filesUnder(src).filter((f) => !ignored(f));
          assert.ok(sent.length > 0, `line ${c.line}: ${src} is excluded by the ignore file`);
        }
      }
    }
    assert.equal(ignored('src/cli/coffer.ts'), false);
    assert.equal(ignored('src/cli/up-command.test.ts'), true, 'tests stay out of the image');
    assert.equal(ignored('node_modules/yaml/package.json'), true, 'the build installs its own node_modules');
  });

  void it('puts what the package runs from where its ENTRYPOINT looks', () => {
    const entrypoint = JSON.parse(final.instructions.filter((i) => i.op === 'ENTRYPOINT').at(-1)!.args) as string[];
    const script = entrypoint.find((a) => a.endsWith('/bin/coffer.js'));
    assert.ok(script, 'runs bin/coffer.js');
    const appDir = posix.dirname(posix.dirname(script));
    const placed = new Map(copiesOf(final).map((c) => [c.dest, c]));
    // The run-time parts of the npm package (package.json "files", less docs), and its dependencies.
    const needed = ['package.json', 'node_modules', ...pkg.files.map((f) => f.replace(/\/$/, '')).filter((f) => f !== 'docs' && f !== 'deploy'), 'deploy/crds'];
    for (const part of needed) assert.ok(placed.has(posix.join(appDir, part)), `${part} is not copied to ${posix.join(appDir, part)}`);
    assert.equal(placed.get(posix.join(appDir, 'dist'))?.from, 'build', 'compiled JavaScript from the build stage');
    assert.equal(placed.get(posix.join(appDir, 'node_modules'))?.from, 'build', 'production dependencies from the build stage');
  });

  void it('is the image the manifests name, with their user and existing coffer subcommands', () => {
    const manifests = ['deploy/kms-plugin/coffer-kms-plugin.pod.yaml', 'deploy/controller/deployment.yaml'];
    const uid = Number(final.instructions.filter((i) => i.op === 'USER').at(-1)!.args.split(':')[0]);
    const commands = new Set(COMMANDS.map((c) => c.name));
    let containers = 0;
    for (const file of manifests) {
      for (const doc of parseAllDocuments(readFileSync(join(ROOT, file), 'utf8')).map((d) => d.toJS() as Record<string, unknown>)) {
        const podSpec = (doc.kind === 'Pod' ? doc.spec : (doc.spec as { template: { spec: unknown } }).template.spec) as {
          securityContext?: { runAsUser?: number; runAsNonRoot?: boolean };
          containers: { image: string; command?: string[]; args: string[]; securityContext?: { runAsUser?: number } }[];
        };
        for (const c of podSpec.containers) {
          containers++;
          assert.equal(c.image, `coffer:${pkg.version}`, `${file}: the image built from deploy/Dockerfile`);
          assert.equal(c.command, undefined, `${file}: the image's ENTRYPOINT (tini, node, coffer) is kept`);
          assert.ok(commands.has(c.args[0]!), `${file}: coffer ${c.args[0]} is not a command`);
          const runAs = c.securityContext?.runAsUser ?? podSpec.securityContext?.runAsUser;
          if (podSpec.securityContext?.runAsNonRoot) assert.equal(runAs ?? uid, uid, `${file}: runs as the image's user`);
        }
      }
    }
    assert.equal(containers, 2);
    assert.match(dockerfile, new RegExp(`-t coffer:${pkg.version.replace(/\./g, '\\.')} `), 'the build command in the header tags that image');
  });
});
