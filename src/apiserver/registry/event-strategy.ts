// core/v1 Event rules (k/k pkg/registry/core/event/strategy.go, pkg/apis/core/validation/events.go
// legacyValidateEvent): the namespace of the involved object must be the event's (old-style events without
// eventTime), new-style events need reportingController/Instance, action and reason within their limits; field
// selectors on the involved object, reason, source and type (what `kubectl describe` and `get events` send).
import type { FieldError } from '../api-status.js';
import type { CoreEvent } from '../../objects/event.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { invalidValue, required } from './field-errors.js';
import { isDns1123Subdomain, isQualifiedName, nameIsDnsSubdomain } from '../../lib/go/name-validation.js';
import { validateCoreObjectMeta, validateCoreObjectMetaUpdate } from './object-meta-validation.js';
import type { Strategy } from './strategy.js';

const REPORTING_INSTANCE_LIMIT = 128;
const ACTION_LIMIT = 128;
const REASON_LIMIT = 128;
const NOTE_LIMIT = 1024;

export const EVENT_FIELD_LABELS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
  'metadata.namespace',
  'metadata.name',
] as const;

function validateEvent(event: CoreEvent): FieldError[] {
  const errs: FieldError[] = [];
  const ns = event.metadata?.namespace ?? '';
  const involvedNs = event.involvedObject?.namespace ?? '';
  const mismatch = () => invalidValue('involvedObject.namespace', involvedNs, 'does not match event.namespace');
  if (!event.eventTime) {
    if (involvedNs === '') {
      // Compatibility with old clients: such events may live in "default".
      if (ns !== '' && ns !== 'default') errs.push(mismatch());
    } else if (ns !== involvedNs) errs.push(mismatch());
  } else {
    if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system') errs.push(mismatch());
    const controller = event.reportingComponent ?? '';
    if (controller === '') errs.push(required('reportingComponent'));
    for (const msg of isQualifiedName(controller)) errs.push(invalidValue('reportingComponent', controller, msg));
    const instance = event.reportingInstance ?? '';
    if (instance === '') errs.push(required('reportingInstance'));
    if (instance.length > REPORTING_INSTANCE_LIMIT) errs.push(invalidValue('reportingInstance', '', `can have at most ${REPORTING_INSTANCE_LIMIT} characters`));
    const action = event.action ?? '';
    if (action === '') errs.push(required('action'));
    if (action.length > ACTION_LIMIT) errs.push(invalidValue('action', '', `can have at most ${ACTION_LIMIT} characters`));
    const reason = event.reason ?? '';
    if (reason === '') errs.push(required('reason'));
    if (reason.length > REASON_LIMIT) errs.push(invalidValue('reason', '', `can have at most ${REASON_LIMIT} characters`));
    if ((event.message ?? '').length > NOTE_LIMIT) errs.push(invalidValue('message', '', `can have at most ${NOTE_LIMIT} characters`));
  }
  for (const msg of isDns1123Subdomain(ns)) errs.push(invalidValue('namespace', ns, msg));
  return errs;
}

export const EVENT_STRATEGY: Strategy = {
  groupKind: { group: '', kind: 'Event' },
  resetFields: [],
  applyDefaults: (obj) => obj,
  prepareForCreate: (obj) => obj,
  prepareForUpdate: (obj) => obj,

  validate(obj: KubeObject): FieldError[] {
    return [...validateCoreObjectMeta(obj.metadata ?? {}, { namespaced: true, nameFn: nameIsDnsSubdomain }), ...validateEvent(obj as CoreEvent)];
  },

  validateUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
    return [...validateCoreObjectMetaUpdate(obj.metadata ?? {}, old.metadata ?? {}), ...validateEvent(obj as CoreEvent)];
  },

  fieldLabelError(label: string): string | undefined {
    return (EVENT_FIELD_LABELS as readonly string[]).includes(label) ? undefined : `field label not supported: ${label}`;
  },

  selectableFields(obj: KubeObject): Record<string, string> {
    const e = obj as CoreEvent;
    const io = e.involvedObject ?? {};
    return {
      'involvedObject.kind': io.kind ?? '',
      'involvedObject.namespace': io.namespace ?? '',
      'involvedObject.name': io.name ?? '',
      'involvedObject.uid': io.uid ?? '',
      'involvedObject.apiVersion': io.apiVersion ?? '',
      'involvedObject.resourceVersion': io.resourceVersion ?? '',
      'involvedObject.fieldPath': io.fieldPath ?? '',
      reason: e.reason ?? '',
      reportingComponent: e.reportingComponent ?? '',
      source: e.source?.component || e.reportingComponent || '',
      type: e.type ?? '',
      'metadata.name': e.metadata?.name ?? '',
      'metadata.namespace': e.metadata?.namespace ?? '',
    };
  },
};
