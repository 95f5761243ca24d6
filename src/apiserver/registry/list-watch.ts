// kube's LIST and WATCH over the object storage (k8s.io/apiserver pkg/registry/generic/registry/store.go List and
// Watch, pkg/storage/etcd3/store.go GetList, pkg/storage/cacher): resourceVersion and resourceVersionMatch, paging with
// continue tokens, label and field selectors, the initial events of a watch, bookmarks.
import type { Clock } from '../../lib/clock.js';
import type { KubeObject } from '../../objects/object-meta.js';
import type { ObjectStorage } from '../../storage/object-storage.js';
import { CompactedError } from '../../storage/store.js';
import { ApiStatusError, badRequest, expired, invalid, opaqueInternalError, type FieldError } from '../api-status.js';
import { apiVersionOf, type ResourceInfo } from '../resource-info.js';
import type { ApiWatchEvent, KubeList, ListOptions, WatchOptions } from '../resource-store.js';
import { ContinueTokenError, decodeContinue, encodeContinue } from './continue-token.js';
import { forbiddenField, notSupported } from './field-errors.js';
import { parseFieldSelector, type FieldSelector } from './field-selector.js';
import { parseLabelSelector, SelectorParseError, type LabelSelector } from './label-selector.js';
import { parseResourceVersion, tooLargeResourceVersion } from './resource-version.js';
import { storageStatus } from './storage-status.js';
import type { StorageKeys } from './storage-keys.js';
import type { Strategy } from './strategy.js';
import { watchStream } from './watch-stream.js';

const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000;
const LIST_OPTIONS = { group: 'meta.k8s.io', kind: 'ListOptions' };

export interface ListWatchOptions {
  storage: ObjectStorage;
  keys: StorageKeys;
  info: ResourceInfo;
  strategy: Strategy;
  clock: Clock;
  /** How often a watch that allows bookmarks sends one (kube: about a minute). */
  bookmarkIntervalMs?: number | undefined;
}

export class ListWatch {
  private readonly storage: ObjectStorage;
  private readonly keys: StorageKeys;
  private readonly info: ResourceInfo;
  private readonly strategy: Strategy;
  private readonly clock: Clock;

  constructor(private readonly opts: ListWatchOptions) {
    ({ storage: this.storage, keys: this.keys, info: this.info, strategy: this.strategy, clock: this.clock } = opts);
  }

  async list(namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList> {
    const label = this.parseLabels(opts.labelSelector);
    const field = this.parseFields(opts.fieldSelector);
    this.validateListOptions(opts);
    const prefix = this.keys.listPrefix(namespace);
    const limit = opts.limit !== undefined && opts.limit > 0 ? Math.floor(opts.limit) : undefined;

    let revision = 0;
    let from = prefix;
    let continued = false;
    if (opts.continue) {
      if (opts.resourceVersion && opts.resourceVersion !== '0') throw badRequest('specifying resource version is not allowed when using continue');
      try {
        const token = decodeContinue(opts.continue, prefix);
        from = token.startKey;
        revision = Math.max(0, token.revision);
      } catch (err) {
        if (err instanceof ContinueTokenError) throw badRequest(`invalid continue token: ${err.message}`);
        throw err;
      }
      continued = true;
    } else {
      revision = await this.listRevision(opts, limit !== undefined);
    }

    const page = await this.collect(prefix, label, field, { revision, from, limit, continued, signal: opts.signal });
    const list: KubeList = {
      apiVersion: apiVersionOf(this.info),
      kind: this.info.listKind,
      metadata: { resourceVersion: String(page.revision) },
      items: page.items,
    };
    if (page.next !== undefined) {
      list.metadata.continue = encodeContinue(page.next, prefix, page.revision);
      if (label.empty && field.empty && page.remaining !== undefined) list.metadata.remainingItemCount = page.remaining;
    }
    return list;
  }

  /**
   * Matching objects under the prefix at one snapshot, in key order, from `from`, at most `limit` of them (filling the
   * page across store reads when selectors skip objects). `next` is where a continuation starts, when more keys follow.
   */
  private async collect(
    prefix: string,
    label: LabelSelector,
    field: FieldSelector,
    o: { revision: number; from: string; limit?: number | undefined; continued: boolean; signal?: AbortSignal | undefined },
  ): Promise<{ items: KubeObject[]; revision: number; next?: string; remaining?: number }> {
    const items: KubeObject[] = [];
    let revision = o.revision;
    let from = o.from;
    let readAt: number | undefined;
    for (;;) {
      const pageLimit = o.limit === undefined ? undefined : o.limit - items.length;
      let page;
      try {
        page = await this.storage.list(prefix, {
          revision,
          startKey: from,
          signal: o.signal,
          keyFilter: (key) => this.keyMayMatch(key, field),
          ...(pageLimit ? { limit: pageLimit } : {}),
        });
      } catch (err) {
        if (err instanceof CompactedError) throw this.listExpired(o.continued, from, prefix);
        throw storageStatus(err, this.info);
      }
      // Later pages read the same snapshot as the first.
      readAt ??= page.revision;
      revision = readAt;
      for (const obj of page.items) if (this.matches(obj, label, field)) items.push(obj);
      if (!page.more || page.lastKey === undefined) return { items, revision: readAt };
      from = `${page.lastKey}\0`;
      if (o.limit !== undefined && items.length >= o.limit) {
        // Keys after this page, from the store's count (exact for an unfiltered list, the only one that reports it).
        const remaining = page.count === undefined ? undefined : page.count - page.read;
        return { items, revision: readAt, next: from, ...(remaining !== undefined ? { remaining } : {}) };
      }
    }
  }

  watch(namespace: string | undefined, opts: WatchOptions): AsyncIterable<ApiWatchEvent> {
    // Bad input fails here, before the HTTP layer commits to a 200 streaming response.
    const label = this.parseLabels(opts.labelSelector);
    let field = this.parseFields(opts.fieldSelector);
    if (opts.name !== undefined) field = field.and('metadata.name', opts.name);
    const rv = parseResourceVersion(opts.resourceVersion);
    // A watch from a revision, with no initial state to send (every informer's after its LIST): the stream itself, not
    // a generator delegating to it, which cost a promise and a turn per event (issue 16: the garbage collector's
    // informer takes every created object).
    if (rv !== 0 && opts.sendInitialEvents === undefined) {
      return { [Symbol.asyncIterator]: () => this.stream(this.keys.listPrefix(namespace), rv, opts, label, field) };
    }
    return { [Symbol.asyncIterator]: () => this.watchEvents(namespace, opts, label, field, rv) };
  }

  private async *watchEvents(
    namespace: string | undefined,
    opts: WatchOptions,
    label: LabelSelector,
    field: FieldSelector,
    rv: number,
  ): AsyncGenerator<ApiWatchEvent, void, undefined> {
    const prefix = this.keys.listPrefix(namespace);
    let fromRevision = rv;
    let initial: KubeObject[] | undefined;
    let initialEventsEnd: KubeObject | undefined;
    const send = opts.sendInitialEvents;
    if (rv === 0 || send !== undefined) {
      try {
        if (send === true || (send === undefined && rv === 0)) {
          // "Get state and start at most recent" (WatchList: a state not older than rv, so the current one): the
          // current objects as ADDED, then changes after that state.
          if (rv > 0) await this.requireRevision(rv, opts.signal);
          const now = await this.collect(prefix, label, field, { revision: 0, from: prefix, continued: false, signal: opts.signal });
          initial = now.items;
          fromRevision = now.revision;
          // k8s.io/apiserver pkg/storage/cacher: the end of the initial events is a bookmark, sent only to clients that
          // allow bookmarks.
          if (send && opts.allowWatchBookmarks) initialEventsEnd = this.bookmark(now.revision, { 'k8s.io/initial-events-end': 'true' });
        } else if (rv === 0) {
          // sendInitialEvents=false without a resourceVersion: changes from now on only.
          fromRevision = await this.storage.currentRevision({ signal: opts.signal });
        }
      } catch (err) {
        if (opts.signal.aborted) return;
        // Once a watch is open, failures travel in the stream (the response may already be committed).
        const status = err instanceof ApiStatusError ? err : opaqueInternalError(err);
        yield { type: 'ERROR', object: status.status as unknown as KubeObject };
        return;
      }
    }
    yield* this.stream(prefix, fromRevision, opts, label, field, initial, initialEventsEnd);
  }

  private stream(
    prefix: string,
    fromRevision: number,
    opts: WatchOptions,
    label: LabelSelector,
    field: FieldSelector,
    initial?: KubeObject[],
    initialEventsEnd?: KubeObject,
  ): AsyncGenerator<ApiWatchEvent, void, undefined> {
    return watchStream({
      storage: this.storage,
      prefix,
      fromRevision,
      ...(initial ? { initial } : {}),
      ...(initialEventsEnd ? { initialEventsEnd } : {}),
      matches: (obj) => this.matches(obj, label, field),
      matchesEverything: label.empty && field.empty,
      tombstone: (key, revision) => this.tombstone(key, revision),
      ...(opts.allowWatchBookmarks
        ? {
            bookmarks: {
              intervalMs: this.opts.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
              clock: this.clock,
              object: (r: number) => this.bookmark(r),
            },
          }
        : {}),
      signal: opts.signal,
    });
  }

  private parseLabels(text: string | undefined): LabelSelector {
    try {
      return parseLabelSelector(text);
    } catch (err) {
      if (err instanceof SelectorParseError) throw badRequest(err.message);
      throw err;
    }
  }

  private parseFields(text: string | undefined): FieldSelector {
    try {
      return parseFieldSelector(text, (f) => this.strategy.fieldLabelError(f));
    } catch (err) {
      if (err instanceof SelectorParseError) throw badRequest(err.message);
      throw err;
    }
  }

  private matches(obj: KubeObject, label: LabelSelector, field: FieldSelector): boolean {
    return label.matches(obj.metadata?.labels) && (field.empty || field.matches(this.strategy.selectableFields(obj)));
  }

  /** metadata.name / metadata.namespace selectors can be decided from the key, saving a decryption. */
  private keyMayMatch(key: string, field: FieldSelector): boolean {
    if (field.empty) return true;
    const { namespace, name } = this.keys.parse(key);
    const wantName = field.exactValue('metadata.name');
    if (wantName !== undefined && wantName !== name) return false;
    const wantNamespace = field.exactValue('metadata.namespace');
    return wantNamespace === undefined || namespace === undefined || wantNamespace === namespace;
  }

  private validateListOptions(opts: ListOptions): void {
    const match = opts.resourceVersionMatch as string | undefined;
    if (!match) return;
    const errs: FieldError[] = [];
    if (match !== 'Exact' && match !== 'NotOlderThan') errs.push(notSupported('resourceVersionMatch', match, ['Exact', 'NotOlderThan', '']));
    else if (!opts.resourceVersion) errs.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
    else if (opts.continue) errs.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
    else if (match === 'Exact' && opts.resourceVersion === '0') {
      errs.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
    }
    if (errs.length > 0) throw invalid(LIST_OPTIONS, '', errs);
  }

  /**
   * The revision a list reads at (0 = current), as kube's resourceVersion semantics (k8s.io/apiserver
   * pkg/storage/etcd3/store.go GetList).
   */
  private async listRevision(opts: ListOptions, limited: boolean): Promise<number> {
    const rv = parseResourceVersion(opts.resourceVersion);
    if (rv === 0) return 0;
    // Exact when asked, and (legacy) for a paged list with a resourceVersion and no match.
    const exact = opts.resourceVersionMatch === 'Exact' || (opts.resourceVersionMatch === undefined && limited);
    await this.requireRevision(rv, opts.signal);
    return exact ? rv : 0;
  }

  /** 504 when the client asks for a revision the store has not reached (a GET with resourceVersion, too). */
  async requireRevision(rv: number, signal: AbortSignal | undefined): Promise<void> {
    let current: number;
    try {
      current = await this.storage.currentRevision({ signal });
    } catch (err) {
      throw storageStatus(err, this.info);
    }
    if (rv > current) throw tooLargeResourceVersion(rv, current);
  }

  private listExpired(continued: boolean, from: string, prefix: string): ApiStatusError {
    if (!continued) return expired('The resourceVersion for the provided list is too old.');
    const err = expired(
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without ' +
        'the continue parameter, or use the continue token in this response to retrieve the remainder of the results. ' +
        'Continuing with the provided token results in an inconsistent list - objects that were created, modified, or ' +
        'deleted between the time the first chunk was returned and now may show up in the list.',
    );
    // A token at "now" (-1) from the same key lets the client finish, inconsistently, if it wants to.
    if (from.length > prefix.length) err.status.metadata.continue = encodeContinue(from, prefix, -1);
    return err;
  }

  private bookmark(revision: number, annotations?: Record<string, string>): KubeObject {
    const metadata = { resourceVersion: String(revision), creationTimestamp: null, ...(annotations ? { annotations } : {}) };
    return { kind: this.info.kind, apiVersion: apiVersionOf(this.info), metadata };
  }

  private tombstone(key: string, revision: number): KubeObject {
    const { namespace, name } = this.keys.parse(key);
    return {
      kind: this.info.kind,
      apiVersion: apiVersionOf(this.info),
      metadata: { name, ...(namespace !== undefined ? { namespace } : {}), resourceVersion: String(revision) },
    };
  }
}
