// kube-controller-manager's root-ca-cert-publisher (k8s.io/kubernetes pkg/controller/certificates/rootcacertpublisher),
// run in-process like the garbage collector: every namespace gets the ConfigMap `kube-root-ca.crt` whose `ca.crt` is
// the CA that signs this server's serving certificate, created when the namespace appears and put back when it is
// deleted or changed (its data is replaced, the description annotation set, other metadata kept).
//
// One difference, for several API servers on one etcd (each with its own CA): a server puts its CA into `ca.crt`
// next to the unexpired CA certificates already there instead of replacing them, so two servers converge on a bundle
// both can be verified with instead of overwriting each other forever. Anything else in `ca.crt` is dropped.
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeObject } from '../../objects/object-meta.js';
import { ApiStatusError } from '../api-status.js';
import type { ResourceStore } from '../resource-store.js';

export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the ' +
  'internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';
const FIELD_MANAGER = 'root-ca-cert-publisher';

export interface RootCaPublisherOptions {
  namespaces: ResourceStore;
  configmaps: ResourceStore;
  /** The serving CA certificate (PEM). */
  caPem: string;
  logger?: Logger;
  /** Delay before retrying a failed sync or a broken watch (default 1 s). */
  retryMs?: number;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]{1,16384}-----END CERTIFICATE-----/g;

/** The unexpired CA certificates of a PEM bundle, normalized; at most 16 (a bundle is never a dumping ground). */
function caCertificates(bundle: string): string[] {
  const out: string[] = [];
  for (const block of bundle.slice(0, 256 * 1024).match(PEM_CERTIFICATE) ?? []) {
    try {
      const cert = new X509Certificate(block);
      if (cert.ca && Date.parse(cert.validTo) > Date.now()) out.push(cert.toString().trim());
    } catch {
      // not a certificate: dropped
    }
    if (out.length >= 16) break;
  }
  return out;
}

export class RootCaPublisher {
  private readonly abort = new AbortController();
  private readonly pending = new Set<string>();
  private readonly ca: string;
  private running: Promise<void> | undefined;
  private readonly retryMs: number;

  constructor(private readonly opts: RootCaPublisherOptions) {
    this.ca = new X509Certificate(opts.caPem).toString().trim();
    this.retryMs = opts.retryMs ?? 1000;
  }

  start(): void {
    void this.inform(this.opts.namespaces, {}, (ns) => (ns.status as { phase?: string } | undefined)?.phase !== 'Terminating' && this.enqueue(ns.metadata!.name!));
    void this.inform(this.opts.configmaps, { fieldSelector: `metadata.name=${ROOT_CA_CONFIG_MAP}` }, (cm) => this.enqueue(cm.metadata!.namespace!));
  }

  close(): void {
    this.abort.abort();
  }

  private sleep(): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, this.retryMs);
      t.unref();
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Watch from the current state (ADDED for what exists) and on; every event but a bookmark calls `on`. */
  private async inform(store: ResourceStore, selector: { fieldSelector?: string }, on: (obj: KubeObject) => unknown): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        for await (const ev of store.watch(undefined, { ...selector, signal })) {
          if (ev.type === 'ERROR') break;
          if (ev.type !== 'BOOKMARK') on(ev.object);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.opts.logger?.warn({ resource: store.info.plural, error: (err as Error).message }, 'root CA publisher watch failed; retrying');
      }
      if (!signal.aborted) await this.sleep();
    }
  }

  private enqueue(namespace: string): void {
    if (this.abort.signal.aborted) return;
    this.pending.add(namespace);
    this.running ??= this.work();
  }

  private async work(): Promise<void> {
    // `running` is cleared in the same turn as the last look at `pending`, so an enqueue never finds a worker that
    // has already decided to stop.
    while (this.pending.size > 0 && !this.abort.signal.aborted) {
      const namespace = this.pending.values().next().value!;
      this.pending.delete(namespace);
      try {
        await this.sync(namespace);
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.opts.logger?.warn({ namespace, error: (err as Error).message }, 'root CA publisher sync failed; retrying');
        void this.sleep().then(() => this.enqueue(namespace));
      }
    }
    this.running = undefined;
  }

  private async sync(namespace: string): Promise<void> {
    const { configmaps } = this.opts;
    const signal = this.abort.signal;
    let current: KubeObject;
    try {
      current = await configmaps.get(namespace, ROOT_CA_CONFIG_MAP, { signal });
    } catch (err) {
      if (!(err instanceof ApiStatusError) || err.status.code !== 404) throw err;
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIG_MAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } }, data: { 'ca.crt': `${this.ca}\n` } };
      try {
        await configmaps.create(namespace, cm, { fieldManager: FIELD_MANAGER, signal });
      } catch (e) {
        // Not retried when the namespace is gone or terminating, as upstream; a concurrent create is someone else's work.
        const status = e instanceof ApiStatusError ? e.status : undefined;
        if (status?.code === 404 || status?.code === 409 || status?.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) return;
        throw e;
      }
      return;
    }
    const data = (current.data ?? {}) as Record<string, string>;
    // Existing order kept, so servers that each add their CA agree on one value.
    const certs = caCertificates(data['ca.crt'] ?? '');
    if (!certs.includes(this.ca)) certs.push(this.ca);
    const bundle = `${certs.join('\n')}\n`;
    const annotations = current.metadata?.annotations ?? {};
    const dataKeys = Object.keys(data);
    if (dataKeys.length === 1 && data['ca.crt'] === bundle && annotations[DESCRIPTION_ANNOTATION]) return;
    const updated = { ...current, metadata: { ...current.metadata, annotations: { ...annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION } }, data: { 'ca.crt': bundle } };
    try {
      await configmaps.update(namespace, ROOT_CA_CONFIG_MAP, updated, { fieldManager: FIELD_MANAGER, signal });
    } catch (e) {
      // Changed or deleted meanwhile: the watch brings this namespace back with the new state.
      if (e instanceof ApiStatusError && (e.status.code === 409 || e.status.code === 404)) return;
      throw e;
    }
  }
}
