// Shared by the optim tests: a block that must leave as many live native tensors as it found.
import assert from 'node:assert/strict';
import { memory } from '../../src/torch/index.js';

/** Runs `fn` and asserts that it left no native tensor alive. */
export function noLeak(fn: () => void): void {
  const before = memory().tensors;
  fn();
  assert.equal(memory().tensors, before, 'native tensors leaked');
}
