// The dashboard page: preact + htm, uPlot for time series, bundled by scripts/build-dashboard.mjs into dist/ (no CDN).
// Each view fetches its document from /dashboard/api/* (the server asks the API server as the signed-in user) and
// fetches it again when the server-sent event stream says it changed; nothing here polls. No view ever receives a
// Secret's data: only counts, storage key names, conditions and metrics.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from 'htm/preact';
import uPlot from 'uplot';

const VIEWS = [
  ['encryption', 'Encryption at rest'],
  ['rotation', 'Rotation'],
  ['kms', 'KMS'],
  ['external-secrets', 'External Secrets'],
  ['apiserver', 'API server'],
  ['lab', 'Lab'],
];

let csrf = '';
const listeners = new Map();

/** Subscribes a view to a topic of the live stream; returns the unsubscribe function. */
function onChanged(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
  return () => listeners.get(topic).delete(fn);
}

async function getJson(path) {
  const r = await fetch(`/dashboard/api/${path}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (r.status === 401) {
    location.reload(); // the session ended: the server answers with the sign-in page
    return undefined;
  }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

/** The latest document at `path`, refetched whenever `topic` changes. */
function useLive(path, topic) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    let alive = true;
    // Notices can outrun answers: a slow answer to an older notice must not overwrite a newer one's, or the page would
    // keep a stale view until the next change.
    let asked = 0;
    let shown = 0;
    const load = () => {
      const n = ++asked;
      const show = (next) => {
        if (!alive || n < shown) return;
        shown = n;
        setState(next);
      };
      return getJson(path).then(
        (data) => show({ data }),
        (e) => show({ error: e.message }),
      );
    };
    void load();
    const off = onChanged(topic, load);
    return () => {
      alive = false;
      off();
    };
  }, [path, topic]);
  return state;
}

function Panel({ title, children, id }) {
  return html`<section class="panel" data-test=${id}><h2>${title}</h2>${children}</section>`;
}

/** A view the API server did not allow: its own words, not an error page. */
function NotAllowed({ message }) {
  return html`<div class="not-allowed" role="status" data-test="not-allowed"><strong>Not allowed.</strong> ${message}</div>`;
}

function Loading({ state, children }) {
  if (state.loading) return html`<p class="muted">Loading…</p>`;
  if (state.error) return html`<p class="error" role="alert">Could not load: ${state.error}</p>`;
  if (state.data && state.data.allowed === false) return html`<${NotAllowed} message=${state.data.message} />`;
  return children(state.data);
}

const fmt = (n) => (n === null || n === undefined ? '–' : String(n));

function StackedBar({ resource }) {
  const entries = Object.entries(resource.byWriter).sort((a, b) => b[1] - a[1]);
  return html`<div class="bar" role="img" aria-label=${`${resource.resource}: ${entries.map(([w, n]) => `${n} ${w}`).join(', ')}`}>
    ${entries.map(
      ([w, n], i) => html`<span class=${`seg seg${i % 6}${w === 'identity' ? ' plain' : ''}`} style=${{ flexGrow: n }} title=${`${w}: ${n}`}>${n}</span>`,
    )}
  </div>`;
}

function StorageKeys({ resource, filter, onClose }) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    getJson(`encryption/keys?resource=${encodeURIComponent(resource)}&filter=${encodeURIComponent(filter)}`).then(
      (data) => setState({ data }),
      (e) => setState({ error: e.message }),
    );
  }, [resource, filter]);
  return html`<div class="drill" data-test="storage-keys">
    <h3>Storage keys of ${resource}: ${filter.replace(/^writer:/, '')} <button type="button" onClick=${onClose}>Close</button></h3>
    <${Loading} state=${state}>${(d) =>
      html`<p class="muted">Names only; values are never read into this page.</p>
        <ul class="keys">${d.keys.map((k) => html`<li><code>${k}</code></li>`)}</ul>${d.more ? html`<p>… and more (first 500 shown)</p>` : ''}`}<//>
  </div>`;
}

function EncryptionView() {
  const state = useLive('encryption', 'encryption');
  const [drill, setDrill] = useState(null);
  const link = (resource, filter, n) =>
    n > 0 ? html`<button type="button" class="link" onClick=${() => setDrill({ resource, filter })}>${n}</button>` : fmt(n);
  return html`<${Loading} state=${state}>${(d) =>
    !d.available
      ? html`<p class="muted">${d.message}</p>`
      : html`
          <${Panel} title="Stored objects by who encrypted them" id="encryption-counts">
            <p class="muted">Read from ${d.source} at ${new Date(d.scannedAt).toLocaleTimeString()}, from the stored bytes' prefixes, never decrypting.</p>
            ${d.resources.map((r) => html`<div class="bar-row"><span class="bar-label">${r.resource}</span><${StackedBar} resource=${r} /></div>`)}
            <div class="table-wrap"><table>
              <thead><tr><th scope="col">Resource</th><th scope="col">Total</th><th scope="col">By provider / key / key_id</th><th scope="col">Plaintext</th><th scope="col">Unknown</th><th scope="col">Stale</th></tr></thead>
              <tbody>${d.resources.map(
                (r) => html`<tr data-test=${`row-${r.resource}`}>
                  <th scope="row">${r.resource}</th><td data-test="total">${r.total}</td>
                  <td><ul class="writers">${Object.entries(r.byWriter).map(
                    ([w, n]) => html`<li data-test=${`writer-${w}`}><code>${w}</code>: ${link(r.resource, `writer:${w}`, n)}</li>`,
                  )}</ul></td>
                  <td data-test="plaintext">${link(r.resource, 'plaintext', r.plaintext)}</td>
                  <td data-test="unknown">${link(r.resource, 'unknown', r.unknown)}</td>
                  <td data-test="stale">${r.stale === null ? '–' : link(r.resource, 'stale', r.stale)}</td>
                </tr>`,
              )}</tbody></table></div>
            ${drill && html`<${StorageKeys} resource=${drill.resource} filter=${drill.filter} onClose=${() => setDrill(null)} />`}
          <//>
          <${Panel} title="EncryptionConfiguration: providers in order" id="encryption-config">
            ${d.config
              ? html`<p class="muted">Configuration hash <code>${d.config.hash}</code>. The first provider's first key writes; the others only read.</p>
                  ${d.config.rules.map(
                    (rule) => html`<h3>${rule.resources.join(', ')}</h3><ol class="providers">${rule.providers.map(
                      (p) => html`<li><code>${p.type}</code>${p.keys.length ? html` keys: ${p.keys.map((k, i) => html`<code>${k}</code>${i < p.keys.length - 1 ? ', ' : ''}`)}` : ''}
                        ${p.writes ? html` <strong class="writes">writes (${p.writes})</strong>` : html` <span class="muted">reads only</span>`}</li>`,
                    )}</ol>`,
                  )}`
              : html`<p class="error">${d.configError}</p>`}
          <//>`}<//>`;
}

const STAGE_WORDS = {
  start: 'No rotation in progress.',
  prepared: 'A new key is configured second: every API server can read it, none writes with it yet.',
  promoted: 'The new key writes; objects written under the old key are stale until re-encrypted.',
  reencrypted: 'Every object was rewritten under the new key; the old key can be pruned.',
  pruned: 'The old key is removed; the rotation is finished.',
};

const KMS_STAGE_WORDS = {
  rotated: 'The KEK was rotated; objects whose DEK seed the old key_id wraps are stale until re-encrypted.',
  reencrypted: 'Every object is under the new key_id; the old KEK version can be retired.',
  finished: 'The old KEK version can no longer decrypt; the KEK rotation is finished.',
};

function RotationView() {
  const state = useLive('encryption', 'encryption');
  return html`<${Loading} state=${state}>${(d) => {
    if (!d.available) return html`<p class="muted">${d.message}</p>`;
    const secrets = d.resources.find((r) => r.resource === (d.rotation?.resource ?? 'secrets')) ?? { total: 0, stale: 0 };
    const r = d.rotation;
    const done = secrets.total - (secrets.stale ?? 0);
    return html`<${Panel} title="Key rotation" id="rotation">
      ${r
        ? html`<p class="stage">Stage (<code>coffer rotate status</code>): <strong data-test="rotation-stage">${r.stage}</strong>
            ${r.from ? html` <span class="muted">${r.resource}: <code>${r.from}</code> → <code>${r.to}</code></span>` : ''}</p>
            <p>${r.error ?? STAGE_WORDS[r.stage] ?? ''} Next step: <code data-test="rotation-next">${r.next}</code></p>`
        : html`<p class="muted" data-test="rotation-stage">No rotation can be followed: ${d.configError}.</p>`}
      ${r?.kms
        ? html`<p class="stage">KMS v2 key rotation (<code>coffer rotate kms-v2</code>): <strong data-test="kms-rotation-stage">${r.kms.stage}</strong>
            ${r.kms.latestVersion ? html` <span class="muted">Transit key version ${r.kms.latestVersion}</span>` : ''}</p>
            <p>${KMS_STAGE_WORDS[r.kms.stage] ?? ''} Next step: <code data-test="kms-rotation-next">${r.kms.next}</code></p>`
        : ''}
      <p class="big">Stale ${secrets.resource ?? 'secrets'}: <strong data-test="rotation-stale">${fmt(secrets.stale)}</strong> of ${secrets.total}</p>
      <progress max=${secrets.total || 1} value=${done} aria-label="re-encrypted"></progress>
      <p class="muted">The stage is read from the rotation's state file beside the configuration, the counts from the stored objects; both update live as they change.</p>
    <//>`;
  }}<//>`;
}

/** A uPlot time series; `series` is [{label, values}], x in seconds. */
function Chart({ title, xs, series, unit, id }) {
  const el = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const width = Math.max(260, Math.min(el.current.clientWidth || 600, 900));
    const opts = {
      title,
      width,
      height: 200,
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: ['#1f5fbf', '#b35900', '#2a7f2a', '#7a2ab3'][i % 4], width: 2, dash: [[], [6, 3], [2, 2], [8, 2, 2, 2]][i % 4] }))],
      axes: [{}, { label: unit }],
    };
    const data = [xs, ...series.map((s) => s.values)];
    if (!plot.current) plot.current = new uPlot(opts, data, el.current);
    else plot.current.setData(data);
  }, [xs, series]);
  useEffect(() => () => plot.current?.destroy(), []);
  return html`<div class="chart" data-test=${id} ref=${el}></div>`;
}

/** Rates and mean latencies between consecutive metric points. */
function deltas(points, pick) {
  const xs = [];
  const out = [];
  for (let i = 1; i < points.length; i++) {
    const dt = (points[i].t - points[i - 1].t) / 1000;
    xs.push(points[i].t / 1000);
    out.push(pick(points[i - 1], points[i], dt));
  }
  return { xs, out };
}

function MetricsView({ render: body }) {
  const state = useLive('metrics', 'metrics');
  return html`<${Loading} state=${state}>${(d) => body(d)}<//>`;
}

const seconds = (ms) => `${Math.max(0, Math.round(ms / 1000))} s`;

/**
 * The API server's KMS v2 write deadline: writes go on until the last good Status plus the write TTL (3 min upstream),
 * so while the plugin is down this is the time left before they fail.
 */
function WriteDeadlines({ point, healthy }) {
  if (!point.kmsWriteDeadlines.length) {
    return html`<p class="muted" data-test="kms-write-deadline">Write deadline: not exported by this API server (Coffer's exports <code>coffer_kmsv2_write_deadline_timestamp_seconds</code>; kube-apiserver keeps the deadline but has no metric for it).</p>`;
  }
  return html`<ul class="events" data-test="kms-write-deadline">${point.kmsWriteDeadlines.map((d) => {
    const left = d.at - point.t;
    const at = new Date(d.at).toLocaleTimeString();
    if (left <= 0) return html`<li class="bad"><strong>✗ Writes refused</strong> by provider <code>${d.provider}</code> since ${at}: no good Status from the plugin within the write deadline. Reads of cached keys go on.</li>`;
    if (healthy === false) return html`<li class="bad"><strong>⚠ KMS not answering: writes stop in ${seconds(left)}</strong> (provider <code>${d.provider}</code>, at ${at}) unless a Status succeeds first.</li>`;
    return html`<li><strong>✓ Writes allowed</strong> for another ${seconds(left)} by provider <code>${d.provider}</code> (until ${at}); each good Status moves this on.</li>`;
  })}</ul>`;
}

function KmsView() {
  return html`<${MetricsView} render=${(d) => {
    const last = d.points.at(-1);
    if (!d.kmsKnown || !last?.kmsHealth) {
      return html`<${Panel} title="KMS" id="kms"><p class="muted">This server does not run Coffer's KMS plugin (coffer up --encryption kms does; coffer dashboard --kms-health-url names one); the plugin's health and call rates appear here when it does.</p>
        ${last ? html`<${WriteDeadlines} point=${last} /><p>Storage transformations: ${last.transformations.ok} succeeded, ${last.transformations.failed} failed.</p>` : ''}<//>`;
    }
    // A sample where the plugin did not answer has no counts; the charts join the ones around it.
    const counted = d.points.filter((p) => p.kms);
    const calls = counted.at(-1)?.kms;
    const lat = deltas(counted, (a, b) => [
      b.kms.encrypt > a.kms.encrypt ? ((b.kms.encryptSeconds - a.kms.encryptSeconds) / (b.kms.encrypt - a.kms.encrypt)) * 1000 : null,
      b.kms.decrypt > a.kms.decrypt ? ((b.kms.decryptSeconds - a.kms.decryptSeconds) / (b.kms.decrypt - a.kms.decrypt)) * 1000 : null,
    ]);
    const err = deltas(counted, (a, b, dt) => [Math.max(0, b.kms.errors - a.kms.errors) / dt]);
    return html`<${Panel} title="KMS plugin" id="kms">
      <p>Health: <strong data-test="kms-health" class=${last.kmsHealth.healthy ? 'ok' : 'bad'}>${last.kmsHealth.healthy ? '✓ healthy' : '✗ unhealthy'}</strong> <span class="muted">${last.kmsHealth.healthy ? '' : last.kmsHealth.text}</span></p>
      <p>Current key_id: <code data-test="kms-key-id">${last.kmsHealth.keyId ?? 'unknown'}</code>${d.keyIdChangedAt ? html`, changed at ${new Date(d.keyIdChangedAt).toLocaleTimeString()}` : html` <span class="muted">(unchanged while this page was open)</span>`}</p>
      <${WriteDeadlines} point=${last} healthy=${last.kmsHealth.healthy} />
      ${calls && html`<p>Calls so far: ${calls.encrypt} Encrypt, ${calls.decrypt} Decrypt, ${calls.errors} errors.</p>`}
      <${Chart} id="kms-latency" title="Mean latency (ms)" unit="ms" xs=${lat.xs} series=${[{ label: 'Encrypt', values: lat.out.map((v) => v[0]) }, { label: 'Decrypt', values: lat.out.map((v) => v[1]) }]} />
      <${Chart} id="kms-errors" title="Errors per second" unit="/s" xs=${err.xs} series=${[{ label: 'errors', values: err.out.map((v) => v[0]) }]} />
    <//>`;
  }} />`;
}

function ApiServerView() {
  return html`<${MetricsView} render=${(d) => {
    const verbs = [...new Set(d.points.flatMap((p) => Object.keys(p.requests)))].sort();
    const rates = deltas(d.points, (a, b, dt) => verbs.map((v) => Math.max(0, (b.requests[v] ?? 0) - (a.requests[v] ?? 0)) / dt));
    const lat = deltas(d.points, (a, b) => {
      const n = b.requestSeconds.count - a.requestSeconds.count;
      return n > 0 ? ((b.requestSeconds.sum - a.requestSeconds.sum) / n) * 1000 : null;
    });
    const providers = deltas(d.points, (a, b, dt) => Math.max(0, b.providerCalls - a.providerCalls) / dt);
    return html`<${Panel} title="API server requests" id="apiserver">
      <p class="muted">Sampled from the API server's /metrics every few seconds while this page is open (${d.points.length} samples).</p>
      <${Chart} id="request-rate" title="Requests per second by verb" unit="/s" xs=${rates.xs} series=${verbs.map((v, i) => ({ label: v, values: rates.out.map((r) => r[i]) }))} />
      <${Chart} id="request-latency" title="Mean request latency (ms)" unit="ms" xs=${lat.xs} series=${[{ label: 'all requests', values: lat.out }]} />
      <${Chart} id="provider-calls" title="External Secrets provider calls per second" unit="/s" xs=${providers.xs} series=${[{ label: 'provider calls', values: providers.out }]} />
    <//>`;
  }} />`;
}

const STATE_MARK = { Ready: '✓', Stale: '⚠', Pending: '…' };

function ExternalSecretsView() {
  const state = useLive('external-secrets', 'external-secrets');
  return html`<${Loading} state=${state}>${(d) => html`
    <${Panel} title="ExternalSecrets by state" id="es-states">
      <ul class="chips">${Object.entries(d.byState).map(([s, n]) => html`<li data-test=${`state-${s}`}>${STATE_MARK[s] ?? '✗'} ${s}: <strong>${n}</strong></li>`)}</ul>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Namespace</th><th scope="col">Name</th><th scope="col">Store</th><th scope="col">State</th><th scope="col">Last sync</th><th scope="col">Message</th></tr></thead>
        <tbody>${d.externalSecrets.map(
          (e) => html`<tr data-test=${`es-${e.namespace}-${e.name}`}><td>${e.namespace}</td><th scope="row">${e.name}</th><td>${e.store}</td>
            <td data-test="es-state" class=${e.state === 'Ready' ? 'ok' : 'bad'}>${STATE_MARK[e.state] ?? '✗'} ${e.state}</td>
            <td>${e.lastSync ? new Date(e.lastSync).toLocaleTimeString() : '–'}</td><td class="msg">${e.message}</td></tr>`,
        )}</tbody></table></div>
    <//>
    <${Panel} title="Secret stores" id="es-stores">
      ${d.storesNotAllowed ? html`<${NotAllowed} message="listing SecretStores or ClusterSecretStores is not allowed for this user." />` : ''}
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Kind</th><th scope="col">Namespace</th><th scope="col">Name</th><th scope="col">Ready</th><th scope="col">Reason</th></tr></thead>
        <tbody>${d.stores.map((s) => html`<tr><td>${s.kind}</td><td>${s.namespace}</td><th scope="row">${s.name}</th><td>${s.ready === 'True' ? '✓ True' : `✗ ${s.ready}`}</td><td>${s.reason}</td></tr>`)}</tbody>
      </table></div>
    <//>
    <${Panel} title="Recent events" id="es-events">
      ${d.eventsNotAllowed ? html`<${NotAllowed} message="listing Events is not allowed for this user." />` : ''}
      <ul class="events">${d.events.map((e) => html`<li><span class="muted">${e.time ? new Date(e.time).toLocaleTimeString() : ''}</span> <strong>${e.type === 'Warning' ? '⚠ Warning' : 'Normal'}</strong> ${e.reason} <code>${e.object}</code>: ${e.message}</li>`)}</ul>
    <//>`}<//>`;
}

const MARK_WORD = { '✗': 'not mitigated', '✓': 'mitigated, with a caveat', '✓✓': 'mitigated', 'n/a': 'nothing to act on', '?': 'not measured' };

function LabView() {
  const state = useLive('lab', 'lab');
  const [rows, setRows] = useState('');
  const [columns, setColumns] = useState('');
  const [error, setError] = useState('');
  const run = async (e) => {
    e.preventDefault();
    setError('');
    const r = await fetch('/dashboard/api/lab/run', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-Coffer-CSRF': csrf },
      body: JSON.stringify({ rows, columns }),
    });
    if (!r.ok) setError((await r.json()).error);
  };
  return html`<${Loading} state=${state}>${(d) => html`
    <${Panel} title="Run the threat lab" id="lab-run">
      ${d.canRun
        ? html`<form class="lab-form" onSubmit=${run}>
            <label>Rows or variants <input name="rows" value=${rows} onInput=${(e) => setRows(e.target.value)} placeholder="all (e.g. native,kms or aescbc/sqlite)" /></label>
            <label>Columns <input name="columns" value=${columns} onInput=${(e) => setColumns(e.target.value)} placeholder="all (e.g. disk,etcd)" /></label>
            <button type="submit" disabled=${d.running}>${d.running ? 'Running…' : 'Run the lab'}</button>
          </form>
          <p class="muted">The whole lab deploys every variant and takes many minutes; one variant and one column (e.g. <code>identity/sqlite</code>, <code>disk</code>) take seconds. A subset's report names what it did not try.</p>`
        : html`<${NotAllowed} message="running the lab starts processes on this machine; only a session opened with the one-time sign-in link may. The latest report is below." />`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${d.command && html`<p><code>${d.command}</code>: <strong data-test="lab-status">${d.running ? 'running' : d.error ? `✗ ${d.error}` : `finished (exit ${d.exitCode})`}</strong></p>`}
      ${d.progress.length > 0 && html`<pre class="progress" data-test="lab-progress">${d.progress.slice(-40).join('\n')}</pre>`}
    <//>
    ${d.report
      ? html`<${Panel} title="Latest lab report" id="lab-report">
          <p class="muted">${d.report.version} · ${d.report.generatedAt} · ${d.report.machine}</p>
          ${d.report.subset && html`<p class="not-allowed" data-test="lab-subset"><strong>Subset.</strong> ${d.report.subset}</p>`}
          <div class="table-wrap"><table data-test="lab-table">
            <thead><tr><th scope="col">Implementation</th>${d.report.columns.map((c) => html`<th scope="col">${c.title}</th>`)}</tr></thead>
            <tbody>${d.report.rows.map(
              (r) => html`<tr><th scope="row">${r.title}</th>${d.report.columns.map((c) => {
                const cell = r.cells[c.id];
                return html`<td class=${`mark m${cell ? cell.mark.length : 0}`} data-column=${c.id} data-mark=${cell?.mark} title=${cell ? `${cell.evidence}${r.remediation?.[c.id] ? ` — to reach ✓: ${r.remediation[c.id]}` : ''}` : ''}>
                  ${cell ? cell.mark : ''}${cell?.caveat ? html`<small> (${cell.caveat})</small>` : ''}<small class="word">${cell ? MARK_WORD[cell.mark] : ''}</small></td>`;
              })}</tr>`,
            )}</tbody></table></div>
        <//>
        <${SeedComparison} seed=${d.report.seed} columns=${d.report.columns} />`
      : html`<p class="muted">No lab report yet in this server's lifetime. Run one above, or from a shell: <code>coffer lab --html report.html</code>.</p>`}`}<//>`;
}

/** The seed's table (src/lab/seed-table.ts) beside the lab's marks, cell by cell, and why they differ. */
function SeedComparison({ seed, columns }) {
  if (!seed.rows.length) return '';
  const cols = columns.filter((c) => c.id in seed.rows[0].cells);
  return html`<${Panel} title="The seed's table beside the lab's" id="lab-seed">
    <p class="muted">${seed.check}</p>
    <div class="table-wrap"><table data-test="lab-seed-table">
      <thead><tr><th scope="col">Implementation</th>${cols.map((c) => html`<th scope="col">${c.title}: seed</th><th scope="col">${c.title}: lab</th>`)}</tr></thead>
      <tbody>${seed.rows.map(
        (r) => html`<tr><th scope="row">${r.name}</th>${cols.map((c) => {
          const lab = r.lab[c.id] ?? '';
          const differs = lab && lab !== '?' && lab !== r.cells[c.id].split(' ')[0];
          return html`<td data-seed=${c.id}>${r.cells[c.id]}</td><td data-lab=${c.id} class=${differs ? 'differs' : ''}>${lab}${differs ? html`<small class="word">≠ differs</small>` : ''}</td>`;
        })}</tr>`,
      )}</tbody></table></div>
    ${Object.keys(seed.notes).length > 0 && html`<ul class="muted">${Object.entries(seed.notes).map(([k, v]) => html`<li>${k} ${v}</li>`)}</ul>`}
    ${seed.differences.length > 0
      ? html`<h3>Where the lab differs from the seed</h3>
          <ul class="events" data-test="lab-differences">${seed.differences.map((x) => html`<li><strong>${x.row} / ${x.column}</strong>: seed ${x.seed}, lab ${x.lab}. <span class="muted">${x.why}</span></li>`)}</ul>`
      : html`<p data-test="lab-differences">The lab agrees with the seed on every cell it measured.</p>`}
  <//>`;
}

const VIEW_COMPONENTS = { encryption: EncryptionView, rotation: RotationView, kms: KmsView, 'external-secrets': ExternalSecretsView, apiserver: ApiServerView, lab: LabView };

function App() {
  const [view, setView] = useState(location.hash.slice(2) || 'encryption');
  const [session, setSession] = useState(null);
  const [live, setLive] = useState('connecting');
  useEffect(() => {
    void getJson('session').then((s) => {
      csrf = s.csrf;
      setSession(s);
    });
    const es = new EventSource('/dashboard/api/stream');
    es.addEventListener('changed', (e) => {
      const topic = JSON.parse(e.data);
      for (const fn of listeners.get(topic) ?? []) fn();
    });
    es.onopen = () => setLive('live');
    es.onerror = () => setLive('reconnecting');
    const onHash = () => setView(location.hash.slice(2) || 'encryption');
    addEventListener('hashchange', onHash);
    return () => {
      es.close();
      removeEventListener('hashchange', onHash);
    };
  }, []);
  const signOut = async () => {
    await fetch('/dashboard/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-Coffer-CSRF': csrf } });
    location.reload();
  };
  const View = VIEW_COMPONENTS[view] ?? EncryptionView;
  return html`<header>
      <h1>Coffer</h1>
      <nav aria-label="views"><ul>${VIEWS.map(([id, label]) => html`<li><a href=${`#/${id}`} aria-current=${view === id ? 'page' : undefined}>${label}</a></li>`)}</ul></nav>
      <div class="who"><span data-test="live" class="muted">${live === 'live' ? '● live' : `○ ${live}`}</span> ${session ? html`<span>${session.user}</span>` : ''}
        <button type="button" onClick=${signOut}>Sign out</button></div>
    </header>
    <main data-view=${view}><h2 class="print-only">${VIEWS.find((v) => v[0] === view)?.[1]}</h2><${View} key=${view} /></main>`;
}

render(html`<${App} />`, document.getElementById('app'));
