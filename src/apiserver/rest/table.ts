// `as=Table` responses (meta.k8s.io/v1 Table) so `kubectl get` prints kube's columns: NAME TYPE DATA AGE for secrets.
import type { KubeObject } from '../../objects/object-meta.js';
import type { ResourceInfo } from '../resource-info.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
  cell: (obj: KubeObject) => unknown;
}

const col = (name: string, description: string, cell: Column['cell'], format = ''): Column => ({
  name,
  type: 'string',
  format,
  description,
  priority: 0,
  cell,
});

const NAME = col('Name', 'Name must be unique within a namespace.', (o) => o.metadata?.name ?? '', 'name');
const countKeys = (...maps: unknown[]) =>
  maps.reduce<number>((n, m) => n + (m && typeof m === 'object' ? Object.keys(m).length : 0), 0);

function columnsFor(info: ResourceInfo, now: Date): Column[] {
  const age = col('Age', 'CreationTimestamp is the time this object was created.', (o) =>
    humanAge(o.metadata?.creationTimestamp, now),
  );
  switch (info.kind) {
    case 'Secret':
      return [
        NAME,
        col('Type', 'Used to facilitate programmatic handling of secret data.', (o) => o.type ?? ''),
        col('Data', 'Data contains the secret data.', (o) => countKeys(o.data)),
        age,
      ];
    case 'ConfigMap':
      return [NAME, col('Data', 'Data contains the configuration data.', (o) => countKeys(o.data, o.binaryData)), age];
    case 'Namespace':
      return [
        NAME,
        col('Status', 'The status of the namespace', (o) => (o.status as { phase?: string } | undefined)?.phase ?? null),
        age,
      ];
    default:
      return [NAME, age];
  }
}

/** kube's duration.HumanDuration of now − creationTimestamp. */
export function humanAge(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const ms = now.getTime() - Date.parse(timestamp);
  if (Number.isNaN(ms)) return '<unknown>';
  if (ms < -1000) return '<invalid>';
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(s / 3600);
  const d = Math.floor(s / 86400);
  const y = Math.floor(d / 365);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (y < 2) return `${d}d`;
  if (y < 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

/** True when the Accept header asks for a meta.k8s.io Table (as kubectl get does). */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

export function toTable(
  info: ResourceInfo,
  objects: KubeObject[],
  listMeta: Record<string, unknown>,
  now = new Date(),
): Record<string, unknown> {
  const columns = columnsFor(info, now);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map(({ cell: _cell, ...c }) => c),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      // kubectl builds the NAMESPACE and label columns from this metadata.
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
