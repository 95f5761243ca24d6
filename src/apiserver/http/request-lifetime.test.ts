import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestLifetime } from './filters.js';

// A write's AbortController is reused by a later request only when aborting it could have stopped nothing; in every
// other case the request's signal aborts when its response closes, as before.
void describe('RequestLifetime', () => {
  const setup = () => ({ open: new Set<RequestLifetime>(), spare: [] as AbortController[], shutdown: new AbortController() });
  const finished = { writableFinished: true };
  const cut = { writableFinished: false };

  void it('keeps the controller of a request that ended normally for the next request, unaborted', () => {
    const { open, spare, shutdown } = setup();
    const first = new RequestLifetime(open, shutdown.signal, finished, spare);
    const signal = first.signal;
    first.handlerSettled();
    first.end();
    assert.equal(signal.aborted, false);
    assert.equal(open.size, 0);
    const second = new RequestLifetime(open, shutdown.signal, finished, spare);
    assert.equal(second.signal, signal);
    assert.equal(spare.length, 0);
    // The ended request asking again gets a signal of its own, already aborted: never the one now in use.
    assert.notEqual(first.signal, signal);
    assert.equal(first.signal.aborted, true);
  });

  void it('aborts when the client went away, the handler still runs, or a listener is left', () => {
    const { open, spare, shutdown } = setup();
    const gone = new RequestLifetime(open, shutdown.signal, cut, spare);
    const goneSignal = gone.signal;
    gone.handlerSettled();
    gone.end();
    assert.equal(goneSignal.aborted, true);
    assert.equal((goneSignal.reason as DOMException).name, 'AbortError');

    const running = new RequestLifetime(open, shutdown.signal, finished, spare);
    const runningSignal = running.signal;
    running.end();
    assert.equal(runningSignal.aborted, true);

    const listened = new RequestLifetime(open, shutdown.signal, finished, spare);
    let heard = 0;
    listened.signal.addEventListener('abort', () => heard++);
    listened.handlerSettled();
    listened.end();
    assert.equal(heard, 1);
    assert.equal(spare.length, 0);
  });

  void it('aborts every open request when the server shuts down, spare controllers included', () => {
    const { open, spare, shutdown } = setup();
    const done = new RequestLifetime(open, shutdown.signal, finished, spare);
    const reused = done.signal;
    done.handlerSettled();
    done.end();
    const inFlight = new RequestLifetime(open, shutdown.signal, finished, spare);
    assert.equal(inFlight.signal, reused);
    for (const l of open) l.end(); // what withRequestLifetime's shutdown listener does
    shutdown.abort();
    assert.equal(reused.aborted, true);
    const late = new RequestLifetime(open, shutdown.signal, finished, spare);
    assert.equal(late.signal.aborted, true);
  });
});
