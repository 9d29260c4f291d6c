// The compute queue on its own, with work whose end the test decides: admission up to the running
// job plus `waiting`, one job at a time in arrival order, a job whose signal aborts while it waits
// never runs, one that aborts while running is answered at once and still waited for by whenIdle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComputeQueue } from '../../src/serve/index.js';

/** Work that records when it starts and ends when `finish` is called. */
function gated(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { work: async () => (log.push(`start ${name}`), await done, log.push(`end ${name}`), name), finish: () => finish() };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

test('the queue admits the running job and `waiting` more, runs them one at a time in order, and gives places back once', async () => {
  const q = new ComputeQueue(1);
  const [t1, t2] = [q.admit(), q.admit()];
  assert.ok(t1 && t2);
  assert.equal(q.admit(), undefined, 'full: one running, one waiting');
  assert.ok(q.retryAfterS >= 1);
  const log: string[] = [];
  const [a, b] = [gated(log, 'a'), gated(log, 'b')];
  const results = [q.run(a.work), q.run(b.work)];
  await tick();
  assert.deepEqual(log, ['start a']);
  b.finish(); // b may finish early, it still waits for its turn
  a.finish();
  assert.deepEqual(await Promise.all(results), ['a', 'b']);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b']);
  t1.release();
  t1.release();
  assert.equal(q.stats().admitted, 1, 'releasing twice gives one place back');
  t2.release();
  assert.equal(q.stats().admitted, 0);
});

test('an aborted waiting job leaves the queue without running; an aborted running one is answered at once and whenIdle still waits for it', async () => {
  const q = new ComputeQueue(4);
  const log: string[] = [];
  const [a, b, c] = [gated(log, 'a'), gated(log, 'b'), gated(log, 'c')];
  const runningStop = new AbortController();
  const waitingStop = new AbortController();
  const ra = q.run(a.work, runningStop.signal);
  const rb = q.run(b.work, waitingStop.signal);
  const rc = q.run(c.work);
  await tick();
  waitingStop.abort(new Error('b gave up'));
  await assert.rejects(rb, /b gave up/);
  assert.equal(q.stats().waiting, 1);
  runningStop.abort(new Error('a timed out'));
  await assert.rejects(ra, /a timed out/);
  let idle = false;
  const whenIdle = q.whenIdle().then(() => (idle = true));
  a.finish();
  c.finish();
  assert.equal(await rc, 'c');
  await whenIdle;
  assert.ok(idle);
  assert.deepEqual(log, ['start a', 'end a', 'start c', 'end c'], 'b never ran; c waited for a to end');
});
