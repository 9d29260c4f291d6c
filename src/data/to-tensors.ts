// Loader batches (plain typed arrays) to tensors: images (N, C, H, W) float32, masks (N, H, W)
// int64 as the losses want them. Copies, so the loader may reuse its buffers afterwards.
import { tensor, type Tensor } from '../torch/index.js';
import type { Batch } from './types.js';

export interface BatchTensors {
  images: Tensor;
  masks?: Tensor;
}

export function batchToTensors(batch: Batch, opts: { channelsLast?: boolean } = {}): BatchTensors {
  const [n, , h, w] = batch.shape;
  let images = tensor(batch.images, { shape: batch.shape });
  if (opts.channelsLast) {
    const cl = images.contiguous('channels_last');
    images.dispose();
    images = cl;
  }
  if (!batch.masks) return { images };
  const masks = tensor(batch.masks, { shape: [n, h, w], dtype: 'int64' });
  return { images, masks };
}
