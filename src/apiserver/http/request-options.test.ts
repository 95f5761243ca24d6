import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiStatusError } from '../api-status.js';
import { mutationOptions } from './request-options.js';

const KUBECTL = 'kubectl/v1.32.4 (linux/amd64) kubernetes/abc';

void describe('mutationOptions', () => {
  void it('gives kube defaults for a write without query parameters, the manager from each request own User-Agent', () => {
    const none = new URLSearchParams();
    // Alternating agents: a remembered manager must never answer for another agent.
    for (const [ua, manager] of [[KUBECTL, 'kubectl'], ['helm/3.14', 'helm'], [undefined, ''], [KUBECTL, 'kubectl'], ['a\u0007b/1', 'ab'], ['', '']] as const) {
      assert.deepEqual(mutationOptions(none, 'CreateOptions', { userAgent: ua }), { dryRun: false, fieldManager: manager, fieldValidation: 'Warn', force: false });
    }
    assert.deepEqual(mutationOptions(new URLSearchParams(), 'UpdateOptions', { userAgent: 'x'.repeat(200) }).fieldManager, 'x'.repeat(128));
  });

  void it('reads and checks parameters when there are any', () => {
    const q = new URLSearchParams('dryRun=All&fieldManager=me&fieldValidation=Strict');
    assert.deepEqual(mutationOptions(q, 'CreateOptions', { userAgent: KUBECTL }), { dryRun: true, fieldManager: 'me', fieldValidation: 'Strict', force: false });
    assert.throws(
      () => mutationOptions(new URLSearchParams('fieldValidation=Loose'), 'CreateOptions', { userAgent: KUBECTL }),
      (e: ApiStatusError) => e.status.code === 422 && /CreateOptions\.meta\.k8s\.io "" is invalid: fieldValidation: Unsupported value: "Loose"/.test(e.status.message ?? ""),
    );
  });

  void it('still requires a field manager for an apply patch without query parameters', () => {
    assert.throws(
      () => mutationOptions(new URLSearchParams(), 'PatchOptions', { userAgent: KUBECTL, applyPatch: true }),
      (e: ApiStatusError) => e.status.code === 422 && e.status.details?.causes?.[0]?.field === 'fieldManager',
    );
  });
});
