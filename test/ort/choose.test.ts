// The --backend auto chooser on stand-in backends (one made 40x slower by a wait): the faster one
// is picked for an input shape, both outputs are freed while timing, the choice is written to the
// cache and read back by a new chooser without running either, and each new shape is decided anew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Forward } from '../../src/predict/forward.js';
import { autoForward, type BackendChoice } from '../../src/ort/choose.js';
import { tempDir } from '../data/synth.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('auto picks the faster backend per input shape, caches it, and reads the cache without measuring', async () => {
  const tmp = tempDir('segkit-choose-');
  try {
    const cacheFile = join(tmp.dir, 'backends.json');
    const calls = { torch: 0, ort: 0 };
    const backend = (name: 'torch' | 'ort', ms: number): Forward => async (x) => {
      calls[name]++;
      await wait(ms);
      return torch.tidy(() => x.mul(name === 'torch' ? 1 : 2));
    };
    const choices: BackendChoice[] = [];
    const opts = { key: 'machine | model', cacheFile, minSeconds: 0, onChoice: (c: BackendChoice) => choices.push(c) };
    const forward = autoForward({ torch: backend('torch', 40), ort: backend('ort', 1) }, opts);
    const x = torch.ones([1, 3, 4, 5]);
    const y = await forward(x);
    assert.equal(torch.tidy(() => y.sum().item()), 2 * 60, 'the output is the chosen backend\'s');
    assert.deepEqual([choices.length, choices[0]!.backend, choices[0]!.source, choices[0]!.shape], [1, 'ort', 'measured', [1, 3, 4, 5]]);
    assert.ok(choices[0]!.seconds.torch! > choices[0]!.seconds.ort!);
    assert.deepEqual(calls, { torch: 2, ort: 3 }, 'a warm-up and one timed pass each, then the pass asked for');
    (await forward(x)).dispose();
    assert.equal(choices.length, 1, 'the same shape is not measured again');
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, { backend: string }>;
    assert.deepEqual(Object.entries(cache).map(([k, v]) => [k, v.backend]), [['machine | model | 1x3x4x5 float32', 'ort']]);

    // a new process: the cached choice, neither backend timed
    calls.torch = calls.ort = 0;
    const again = autoForward({ torch: backend('torch', 40), ort: backend('ort', 1) }, opts);
    (await again(x)).dispose();
    assert.deepEqual([choices[1]!.source, calls], ['cache', { torch: 0, ort: 1 }]);
    // another shape (a sliding window, another image size) is decided on its own
    const small = torch.ones([1, 3, 2, 2]);
    (await again(small)).dispose();
    assert.deepEqual([choices[2]!.source, choices[2]!.shape], ['measured', [1, 3, 2, 2]]);
    for (const t of [x, y, small]) t.dispose();
  } finally {
    tmp.done();
  }
});
