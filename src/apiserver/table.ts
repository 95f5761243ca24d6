// `as=Table` responses (meta.k8s.io Table; k8s.io/kubernetes pkg/printers/internalversion/printers.go) so `kubectl get`
// prints kube's columns: NAME TYPE DATA AGE for Secrets, NAME DATA AGE for ConfigMaps, NAME STATUS AGE for Namespaces.
// kubectl builds the NAMESPACE and label columns itself from each row's object metadata, so rows carry it unless
// includeObject=None.
import type { KubeObject } from '../objects/object-meta.js';
import { badRequest } from './api-status.js';
import { evaluateJsonPath, jsonPathText, parseJsonPath } from './custom-resources/kubectl-jsonpath.js';
import { apiVersionOf, type PrinterColumn, type ResourceInfo } from './resource-info.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
  cell: (obj: KubeObject, now: Date) => unknown;
}

const col = (name: string, description: string, cell: Column['cell'], format = ''): Column => ({
  name,
  type: 'string',
  format,
  description,
  priority: 0,
  cell,
});

const NAME = col(
  'Name',
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.',
  (o) => o.metadata?.name ?? '',
  'name',
);
const AGE = col(
  'Age',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
  (o, now) => humanAge(o.metadata?.creationTimestamp, now),
);

const countKeys = (...maps: unknown[]) =>
  maps.reduce<number>((n, m) => n + (m && typeof m === 'object' ? Object.keys(m).length : 0), 0);

/** A CRD's additionalPrinterColumns as kube's custom resource table convertor evaluates them. */
function customColumns(columns: readonly PrinterColumn[]): Column[] {
  if (columns.length === 0) return [NAME, { ...AGE, type: 'date' }];
  return [
    NAME,
    ...columns.map((c) => {
      const steps = parseJsonPath(c.jsonPath);
      return {
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
        priority: c.priority ?? 0,
        cell: (o: KubeObject, now: Date) => {
          const found = evaluateJsonPath(steps, o);
          return found.length === 0 ? null : customCell(c.type, found[0], now);
        },
      };
    }),
  ];
}

/** kube's cellForJSONValue; string columns print any value the way kubectl's JSONPath printer does. */
function customCell(type: PrinterColumn['type'], value: unknown, now: Date): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'string':
      return jsonPathText(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date': {
      if (typeof value !== 'string') return null;
      return Number.isNaN(Date.parse(value)) ? '<invalid>' : humanAge(value, now);
    }
    default:
      return null;
  }
}

function columnsFor(info: ResourceInfo): Column[] {
  if (info.customResource) return customColumns(info.customResource.printerColumns);
  if (info.group !== '') return [NAME, AGE];
  switch (info.kind) {
    case 'Secret':
      return [
        NAME,
        col('Type', 'Used to facilitate programmatic handling of secret data.', (o) => o.type ?? ''),
        col('Data', 'Data contains the secret data.', (o) => countKeys(o.data)),
        AGE,
      ];
    case 'ConfigMap':
      return [NAME, col('Data', 'Data contains the configuration data.', (o) => countKeys(o.data, o.binaryData)), AGE];
    case 'Event':
      return EVENT_COLUMNS;
    case 'Namespace':
      return [
        NAME,
        col('Status', 'The status of the namespace', (o) => (o.status as { phase?: string } | undefined)?.phase ?? null),
        AGE,
      ];
    default:
      return [NAME, AGE];
  }
}

interface EventLike {
  involvedObject?: { kind?: string; name?: string; fieldPath?: string };
  source?: { component?: string; host?: string };
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string | null };
  count?: number;
  type?: string;
  reason?: string;
  message?: string;
  reportingComponent?: string;
  reportingInstance?: string;
}

/** kube's printEvent (always Wide on the server): first/last seen fall back to eventTime and series. */
function eventTimes(o: KubeObject, now: Date): { first: string; last: string; count: number } {
  const e = o as EventLike;
  const first = e.firstTimestamp ? humanAge(e.firstTimestamp, now) : humanAge(e.eventTime ?? '', now);
  let last = e.lastTimestamp ? humanAge(e.lastTimestamp, now) : first;
  let count = e.count ?? 0;
  if (e.series) {
    last = humanAge(e.series.lastObservedTime ?? '', now);
    count = e.series.count ?? 0;
  } else if (count === 0) count = 1; // singleton events of the new API carry no count
  return { first, last, count };
}

const EVENT_COLUMNS: Column[] = [
  col('Last Seen', 'The time at which the most recent occurrence of this event was recorded.', (o, now) => eventTimes(o, now).last),
  col('Type', 'Type of this event (Normal, Warning), new types could be added in the future', (o) => (o as EventLike).type ?? ''),
  col('Reason', 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.', (o) => (o as EventLike).reason ?? ''),
  col('Object', 'The object that this event is about.', (o) => {
    const io = (o as EventLike).involvedObject ?? {};
    const kind = (io.kind ?? '').toLowerCase();
    return io.name ? `${kind}/${io.name}` : kind;
  }),
  { ...col('Subobject', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', (o) => (o as EventLike).involvedObject?.fieldPath ?? ''), priority: 1 },
  {
    ...col('Source', 'The component reporting this event. Should be a short machine understandable string.', (o) => {
      const e = o as EventLike;
      const component = e.source?.component || e.reportingComponent || '';
      const instance = e.source?.host || e.reportingInstance || '';
      return component === '' ? '' : instance === '' ? component : `${component}, ${instance}`;
    }),
    priority: 1,
  },
  col('Message', 'A human-readable description of the status of this operation.', (o) => ((o as EventLike).message ?? '').trim()),
  { ...col('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', (o, now) => eventTimes(o, now).first), priority: 1 },
  { ...col('Count', 'The number of times this event has occurred.', (o, now) => eventTimes(o, now).count), priority: 1 },
  { ...NAME, priority: 1 },
];

/** kube's duration.HumanDuration of now − creationTimestamp (k8s.io/apimachinery pkg/util/duration/duration.go). */
export function humanAge(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>';
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

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** `?includeObject=`: Metadata by default (what kubectl needs for NAMESPACE and labels), Object with --sort-by. */
export function includeObjectParam(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject') ?? '';
  if (v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(
    `Unable to convert to Table as requested: includeObject: Invalid value: ${JSON.stringify(v)}: must be 'Metadata', 'Object', 'None', or empty`,
  );
}

export interface TableOptions {
  version?: 'v1' | 'v1beta1';
  includeObject?: IncludeObject;
  /** False for the 2nd+ rows of a watch: kube then sends `columnDefinitions: null` (it renders without headers). */
  withColumns?: boolean;
  now?: Date;
}

function rowObject(info: ResourceInfo, obj: KubeObject, include: IncludeObject, version: string): unknown {
  if (include === 'None') return undefined;
  // List items come without kind/apiVersion (core lists omit them); a row's object is a full object again.
  if (include === 'Object') return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(info), kind: obj.kind ?? info.kind };
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata ?? {} };
}

export function toTable(
  info: ResourceInfo,
  objects: readonly KubeObject[],
  listMeta: Record<string, unknown>,
  opts: TableOptions = {},
): Record<string, unknown> {
  const columns = columnsFor(info);
  const now = opts.now ?? new Date();
  const version = opts.version ?? 'v1';
  const include = opts.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: listMeta,
    columnDefinitions: opts.withColumns === false ? null : columns.map(({ cell: _cell, ...c }) => c),
    rows: objects.map((o) => {
      const object = rowObject(info, o, include, version);
      return { cells: columns.map((c) => c.cell(o, now)), ...(object !== undefined ? { object } : {}) };
    }),
  };
}
