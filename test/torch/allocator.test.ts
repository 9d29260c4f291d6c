// segkit's caching CPU allocator: large blocks are kept after their tensor is freed, handed to
// the next tensor that fits, and given back by emptyCache / a cache limit. Values are unaffected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { withNoLeaks } from '../leak.js';

const MiB = 1 << 20;

test('a freed large tensor is cached and reused for the next one of that size', withNoLeaks(() => {
  torch.emptyCache();
  assert.equal(torch.memory().cachedBytes, 0);
  const a = torch.zeros([4 * MiB / 4]); // 4 MiB of float32
  a.dispose();
  const cached = torch.memory().cachedBytes;
  assert.ok(cached >= 4 * MiB, `expected the 4 MiB block to be cached, cache holds ${cached} bytes`);
  const b = torch.ones([4 * MiB / 4]);
  assert.equal(torch.memory().cachedBytes, cached - 4 * MiB, 'the cached block was not reused');
  // reused memory holds the new values, not the old ones
  const s = b.sum();
  assert.equal(s.item(), 4 * MiB / 4);
  s.dispose();
  b.dispose();
  torch.emptyCache();
  assert.equal(torch.memory().cachedBytes, 0);
}));

test('small tensors bypass the cache; a cache limit trims idle blocks', withNoLeaks(() => {
  torch.emptyCache();
  torch.zeros([1000]).dispose();
  assert.equal(torch.memory().cachedBytes, 0, 'a 4 kB tensor should go straight back to malloc');
  torch.setCacheLimit(2 * MiB);
  for (let i = 1; i <= 3; i++) torch.zeros([(i * MiB) / 4 + 1024]).dispose();
  assert.ok(torch.memory().cachedBytes <= 2 * MiB, `cache over its limit: ${torch.memory().cachedBytes}`);
  torch.setCacheLimit(Number.MAX_SAFE_INTEGER);
  torch.emptyCache();
}));
