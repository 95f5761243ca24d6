// Transit's batch_input handling, one copy for every Transit path that takes it (encrypt, decrypt, rewrap, hmac,
// verify...): Vault's builtin/logical/transit path_encrypt.go, path_hmac.go. A batch is a non-empty list of objects;
// each item runs on its own, and its failure is reported in its result instead of failing the request.
import { isJsonObject } from './lossless-json.js';
import { has, optInt, optString, type RequestData } from './request-fields.js';
import { badRequest, VaultError } from './vault-error.js';
import type { VaultResponse } from './vault-request.js';

/** The request's batch_input items, or undefined when it has none (the request itself is the one item). */
export function batchItems(data: RequestData): RequestData[] | undefined {
  if (!has(data, 'batch_input')) return undefined;
  const raw = data.batch_input;
  if (!Array.isArray(raw) || !raw.every(isJsonObject)) throw badRequest('failed to parse batch input: want a list of objects');
  if (raw.length === 0) throw badRequest('missing batch input to process');
  return raw;
}

/**
 * Runs one operation per batch item, or once on the request itself. A single request's failure is a plain 400; batch
 * failures are reported per item (`failedItem`'s fields, the error, the item's reference), with status 400 and the
 * normal envelope, as Vault does. Where the path takes partial_failure_response_code (encrypt, decrypt, rewrap), that
 * status answers a batch in which some item succeeded.
 */
export function batch(
  data: RequestData,
  fn: (item: RequestData) => Record<string, unknown>,
  failedItem: Record<string, unknown> = {},
  o: { partialFailureCode: boolean } = { partialFailureCode: true },
): VaultResponse {
  const items = batchItems(data);
  if (!items) return { data: fn(data) };
  let failures = 0;
  const results = items.map((item) => {
    const reference = optString(item, 'reference') ?? '';
    try {
      return { ...fn(item), reference };
    } catch (e) {
      if (!(e instanceof VaultError)) throw e;
      failures++;
      return { ...failedItem, error: e.errors.join('; '), reference };
    }
  });
  if (failures === 0) return { data: { batch_results: results } };
  const partial = o.partialFailureCode ? optInt(data, 'partial_failure_response_code') : undefined;
  const status = partial && failures < items.length ? partial : 400;
  return { data: { batch_results: results }, status };
}
