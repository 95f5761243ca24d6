// Assertions on the Kubernetes Status a registry call fails with.
import assert from 'node:assert/strict';
import { ApiStatusError, type Status } from '../../api-status.js';

/** Awaits a rejection with ApiStatusError and returns its Status. */
export async function statusOf(promise: Promise<unknown>): Promise<Status> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiStatusError) return err.status;
    throw err;
  }
  assert.fail('expected an ApiStatusError, the call succeeded');
}

/** The call fails with this code and exactly this message. */
export async function rejectsWith(promise: Promise<unknown>, code: number, message: string): Promise<Status> {
  const status = await statusOf(promise);
  assert.equal(status.message, message);
  assert.equal(status.code, code);
  return status;
}
