// Small pure parts of the dashboard: sessions and their cookie, the CSRF origin check, the Prometheus text reader,
// and how an ExternalSecret's state is told (Ready, a failure reason, or stale).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationMs, externalSecretState } from './dashboard-data.js';
import { meanLatencyMs, parsePrometheusText, rate, sum } from './prometheus-text.js';
import { cookieValue, csrfMatches, sameOrigin, sessionCookie, Sessions, SESSION_COOKIE } from './sessions.js';

void describe('dashboard sessions', () => {
  void it('the one-time token works once, and a new one replaces it', () => {
    const s = new Sessions();
    const first = s.oneTimeToken;
    assert.equal(s.consumeOneTimeToken('wrong'), false);
    assert.equal(s.consumeOneTimeToken(first), true);
    assert.equal(s.consumeOneTimeToken(first), false);
    assert.notEqual(s.oneTimeToken, first);
  });

  void it('finds a session by its cookie until it expires; the cookie is HttpOnly, Secure, SameSite=Strict', () => {
    let now = 1_000;
    const s = new Sessions(() => now);
    const session = s.create({ token: 't' }, 'user');
    const cookie = sessionCookie(session);
    assert.match(cookie, /^__Host-coffer-dashboard=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=43200$/);
    assert.equal(s.fromCookieHeader(`other=1; ${SESSION_COOKIE}=${session.id}`), session);
    assert.equal(s.fromCookieHeader(`${SESSION_COOKIE}=${session.id}x`), undefined);
    assert.equal(s.fromCookieHeader(undefined), undefined);
    now += 12 * 3600_000;
    assert.equal(s.fromCookieHeader(`${SESSION_COOKIE}=${session.id}`), undefined, 'expired');
    assert.equal(cookieValue('a=1; b = 2', 'b'), '2');
  });

  void it('accepts a change only from the same origin with the session CSRF token', () => {
    const session = new Sessions().create({}, 'u');
    assert.equal(sameOrigin({ 'sec-fetch-site': 'same-origin', origin: 'null' }, 'h:1'), true);
    assert.equal(sameOrigin({ 'sec-fetch-site': 'cross-site', origin: 'https://h:1' }, 'h:1'), false);
    assert.equal(sameOrigin({ 'sec-fetch-site': 'same-site' }, 'h:1'), false);
    assert.equal(sameOrigin({ origin: 'https://h:1' }, 'h:1'), true);
    assert.equal(sameOrigin({ origin: 'https://evil:1' }, 'h:1'), false);
    assert.equal(sameOrigin({}, 'h:1'), false);
    assert.equal(csrfMatches(session, session.csrf), true);
    assert.equal(csrfMatches(session, `${session.csrf}x`), false);
    assert.equal(csrfMatches(session, undefined), false);
  });
});

void describe('dashboard metrics and states', () => {
  void it('reads the Prometheus text format, labels with escapes included', () => {
    const text = [
      '# HELP apiserver_request_total x',
      'apiserver_request_total{verb="GET",code="200"} 5',
      'apiserver_request_total{verb="LIST",code="200"} 2',
      'other_metric 9',
      'coffer_kms_plugin_current_key_id{key_id_hash="sha256:ab",backend="a \\"b\\""} 1',
    ].join('\n');
    const s = parsePrometheusText(text, (n) => n !== 'other_metric');
    assert.equal(s.length, 3);
    assert.equal(sum(s, 'apiserver_request_total'), 7);
    assert.equal(sum(s, 'apiserver_request_total', (l) => l.verb === 'LIST'), 2);
    assert.deepEqual(s[2]!.labels, { key_id_hash: 'sha256:ab', backend: 'a "b"' });
    assert.equal(rate(10, 20, 5), 2);
    assert.equal(rate(10, 4, 2), 2, 'a restarted counter counts from zero');
    assert.equal(meanLatencyMs({ sum: 1, count: 10 }, { sum: 1.5, count: 15 }), 100);
    assert.equal(meanLatencyMs({ sum: 1, count: 10 }, { sum: 1, count: 10 }), null);
  });

  void it('tells Ready, a failure reason and a stale ExternalSecret apart', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    const es = (status: string, reason: string, refreshTime: string, refreshInterval = '1m') => ({
      spec: { refreshInterval },
      status: { refreshTime, conditions: [{ type: 'Ready', status, reason }] },
    });
    assert.equal(externalSecretState(es('True', 'SecretSynced', '2026-12-06T11:59:30Z'), now), 'Ready');
    assert.equal(externalSecretState(es('False', 'SecretSyncedError', '2026-12-06T11:59:30Z'), now), 'SecretSyncedError');
    assert.equal(externalSecretState(es('True', 'SecretSynced', '2026-12-06T11:50:00Z'), now), 'Stale');
    assert.equal(externalSecretState(es('True', 'SecretSynced', '2026-12-06T11:50:00Z', '0'), now), 'Ready', 'refreshInterval 0 never refreshes');
    assert.equal(externalSecretState({}, now), 'Pending');
    assert.equal(durationMs('1m30s'), 90_000);
    assert.equal(durationMs('1x'), undefined);
  });
});
