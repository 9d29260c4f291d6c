// Leak checks for tests: every test must leave as many live native tensors as it found.
//
//   test('forward', withNoLeaks(() => { ... }));       // one test (sync or async)
//   checkLeaksEachTest();                               // at the top of a file or a describe()
import { afterEach, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { memory } from '../src/torch/index.js';

function assertSame(before: number, what: string): void {
  const after = memory().tensors;
  assert.equal(after, before, `${what}: ${after - before} native tensor(s) leaked (live tensors ${before} → ${after}); dispose them or use tidy()`);
}

/** Wraps a test body: fails the test when it leaves more (or fewer) live tensors than before. */
export function withNoLeaks<T>(fn: () => T | Promise<T>): () => Promise<void> {
  return async () => {
    const before = memory().tensors;
    await fn();
    assertSame(before, 'test');
  };
}

/** Registers beforeEach/afterEach hooks in the current file or describe() that check every test for leaks. */
export function checkLeaksEachTest(): void {
  let before = 0;
  beforeEach(() => {
    before = memory().tensors;
  });
  afterEach((t) => {
    assertSame(before, (t as { name?: string }).name ?? 'test');
  });
}
