// Loader batches become tensors: images (N, C, H, W) float32 with the same values, masks int64,
// also from the SharedArrayBuffer views the loader hands out in recycle mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchToTensors } from '../../src/data/to-tensors.js';
import type { Batch } from '../../src/data/types.js';
import { withNoLeaks } from '../leak.js';

function makeBatch(shared: boolean): Batch {
  const [n, c, h, w] = [2, 3, 2, 4];
  const imgBuf = shared ? new SharedArrayBuffer(n * c * h * w * 4 + 16) : new ArrayBuffer(n * c * h * w * 4 + 16);
  const images = new Float32Array(imgBuf, 16, n * c * h * w).map((_, i) => i / 10 - 1);
  const maskBuf = shared ? new SharedArrayBuffer(n * h * w * 4) : new ArrayBuffer(n * h * w * 4);
  const masks = new Int32Array(maskBuf).map((_, i) => (i % 5 === 0 ? 255 : i % 3));
  return { images, masks, shape: [n, c, h, w], refs: [] };
}

for (const shared of [false, true]) {
  test(`batchToTensors copies images and masks (${shared ? 'SharedArrayBuffer' : 'ArrayBuffer'})`, withNoLeaks(() => {
    const batch = makeBatch(shared);
    const { images, masks } = batchToTensors(batch);
    assert.deepEqual(images.shape, [2, 3, 2, 4]);
    assert.equal(images.dtype, 'float32');
    assert.deepEqual(Array.from(images.data() as Float32Array), Array.from(batch.images));
    assert.equal(masks!.dtype, 'int64');
    assert.deepEqual(masks!.shape, [2, 2, 4]);
    assert.deepEqual(masks!.toArray(), Array.from(batch.masks!));
    // a copy: the loader may overwrite its buffer afterwards
    batch.images[0] = 42;
    assert.notEqual((images.data() as Float32Array)[0], 42);
    images.dispose();
    masks!.dispose();
  }));
}

test('batchToTensors can deliver channels-last images', withNoLeaks(() => {
  const batch = makeBatch(false);
  const { images, masks } = batchToTensors(batch, { channelsLast: true });
  assert.equal(images.info().channelsLast, true);
  const plain = images.contiguous();
  assert.deepEqual(Array.from(plain.data() as Float32Array), Array.from(batch.images));
  plain.dispose();
  images.dispose();
  masks!.dispose();
}));
