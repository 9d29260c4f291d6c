// Asserts that a piece of test code leaves no native tensor behind: memory().tensors before and
// after must be equal (the torch tests' local helper; test/leak.ts did not exist when written).
import assert from 'node:assert/strict';
import { memory } from '../../src/torch/index.js';

export function noLeak<T>(fn: () => T, what = 'test'): T {
  const before = memory().tensors;
  const result = fn();
  assert.equal(memory().tensors, before, `${what} leaked ${memory().tensors - before} native tensor(s)`);
  return result;
}

export async function noLeakAsync<T>(fn: () => Promise<T>, what = 'test'): Promise<T> {
  const before = memory().tensors;
  const result = await fn();
  assert.equal(memory().tensors, before, `${what} leaked ${memory().tensors - before} native tensor(s)`);
  return result;
}
