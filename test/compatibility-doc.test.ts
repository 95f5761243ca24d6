// Keeps docs/compatibility.md true: every row's check is run against the real thing (an API server over HTTPS, the key
// server, the template engine, the provider factory) and must answer as the row says.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../src/apiserver/testing/test-api-server.js';
import { GoTemplate } from '../src/controller/external-secrets/go-template.js';
import { createProvider } from '../src/controller/providers/provider-factory.js';
import { startTestKeyserver, type TestKeyserver } from '../src/keyserver/testing/test-keyserver.js';

interface Row {
  feature: string;
  status: string;
  check: string;
  answer: string;
}

/** The table rows of the document: `| feature | status | `check` | `answer` |` (code spans unwrapped, `\|` kept as `|`). */
function rows(markdown: string): Row[] {
  const out: Row[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| Feature') || line.startsWith('|---')) continue;
    // `\|` is a pipe inside a cell (markdown's escape); the others separate cells.
    const cells = line.slice(2, -2).replaceAll('\\|', '\u0000').split(' | ').map((c) => c.trim().replace(/^`|`$/g, '').replaceAll('\u0000', '|'));
    assert.equal(cells.length, 4, `a row has four cells: ${line}`);
    out.push({ feature: cells[0]!, status: cells[1]!, check: cells[2]!, answer: cells[3]! });
  }
  return out;
}

void describe('docs/compatibility.md', () => {
  let api: TestApiServer;
  let ks: TestKeyserver;
  let table: Row[];
  before(async () => {
    table = rows(await readFile(new URL('../docs/compatibility.md', import.meta.url), 'utf8'));
    [api, ks] = await Promise.all([startTestApiServer(), startTestKeyserver()]);
  });
  after(async () => {
    await api.close();
    await ks.dispose();
  });

  /** What the check gets: "<status> <body>" for HTTP, "ok <output>" or "error <message>" otherwise. */
  async function answer(check: string): Promise<string> {
    const [kind, ...rest] = check.split(' ');
    if (kind === 'api') {
      const [method, path, ...accept] = rest;
      const headers = accept.length > 0 ? { Accept: accept.join(' ').replace(/^Accept: /, '') } : undefined;
      const r = await api.call(method!, path!, { ...(headers ? { headers } : {}), ...(method === 'POST' ? { body: '{}' } : {}) });
      return `${r.status} ${r.text}`;
    }
    if (kind === 'vault') {
      const r = await ks.call(rest[0]!, rest[1]!, rest[0] === 'POST' ? { body: {} } : {});
      return `${r.status} ${r.text.replace(/\\"/g, '"')}`;
    }
    try {
      if (kind === 'template') return `ok ${GoTemplate.parse('compat', rest.join(' ')).execute({}).toString()}`;
      if (kind === 'store') {
        const specs: Record<string, object> = { vault: { server: 'https://vault.invalid' }, kubernetes: { auth: { token: { bearerToken: { name: 't' } } } } };
        const p = createProvider({ metadata: { name: 's', namespace: 'ns' }, spec: { provider: { [rest[0]!]: specs[rest[0]!] ?? {} } } }, { kind: 'SecretStore', storeNamespace: 'ns' }, { kube: {} as never, record: () => undefined });
        // vault and kubernetes serve PushSecret: they must have the write half too.
        if (rest[0] === 'vault' || rest[0] === 'kubernetes') assert.ok(['pushSecret', 'deleteSecret', 'secretExists'].every((m) => m in p), `${rest[0]} pushes`);
        return 'ok';
      }
    } catch (e) {
      return `error ${(e as Error).message}`;
    }
    throw new Error(`unknown check kind in ${check}`);
  }

  void it('has rows for each area, every one with a check', () => {
    assert.ok(table.length >= 20, `${table.length} rows`);
    assert.ok(table.filter((r) => r.status === 'Refused').length >= 10);
    for (const r of table) assert.match(r.check, /^(api|vault|template|store) /, r.feature);
  });

  void it('answers every refused row as the row says', async () => {
    for (const r of table.filter((x) => x.status === 'Refused')) {
      const [code, ...text] = r.answer.split(' ');
      const got = await answer(r.check);
      assert.ok(got.startsWith(`${code} `), `${r.feature}: ${r.check} answered ${got.slice(0, 200)}`);
      assert.ok(got.includes(text.join(' ')), `${r.feature}: ${r.check} answered ${got.slice(0, 200)}, not ${r.answer}`);
    }
  });

  void it('answers every served row without an error', async () => {
    for (const r of table.filter((x) => x.status.startsWith('Served'))) {
      const got = await answer(r.check);
      const [code, ...text] = r.answer.split(' ');
      assert.ok(got.startsWith(`${code}`), `${r.feature}: ${r.check} answered ${got.slice(0, 200)}`);
      if (text.length > 0) assert.ok(got.includes(text.join(' ')), `${r.feature}: ${got.slice(0, 200)}`);
    }
  });
});
