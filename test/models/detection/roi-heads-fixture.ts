// The RoIHeads fixture (test/fixtures/detection/roi_heads.safetensors, from gen_roi_heads.py) and
// the small heads it was made with: 8 FPN channels, 4 classes, representation 16, mask head
// [16, 16], mask predictor 12 channels; 'v1' as maskrcnn_resnet50_fpn builds them, 'v2' as _v2.
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { batchNorm } from '../../../src/nn/index.js';
import { MultiScaleRoIAlign } from '../../../src/detection/index.js';
import {
  FastRCNNConvFCHead, FastRCNNPredictor, MaskRCNNHeads, MaskRCNNPredictor, RoIHeads, TwoMLPHead, type RoIHeadsOptions,
} from '../../../src/models/index.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { fixture } from '../../paths.js';

export const roiFixture = readSafetensors(fixture('detection', 'roi_heads.safetensors'));
export const LEVELS = ['0', '1', '2', '3', 'pool'];

/** A fixture tensor by key (the caller disposes it). */
export function loadRoi(key: string): torch.Tensor {
  const raw = roiFixture.tensors.get(key);
  assert.ok(raw, `roi_heads fixture has no '${key}' (regenerate it with gen_roi_heads.py)`);
  return torch.fromRaw(raw);
}

/** Every fixture tensor whose key starts with `prefix`, keyed by the rest (the caller disposes them). */
export function loadAll(prefix: string): Map<string, torch.Tensor> {
  return new Map([...roiFixture.tensors.keys()].filter((k) => k.startsWith(prefix)).map((k) => [k.slice(prefix.length), loadRoi(k)]));
}

export function disposeAll(m: Map<string, torch.Tensor>): void {
  for (const t of m.values()) t.dispose();
}

/** The generator's RoIHeads for 'v1' or 'v2' (torchvision's initialisation; load the fixture's weights into it). */
export function makeHeads(version: string, opts: RoIHeadsOptions = {}): RoIHeads {
  const norm = version === 'v2' ? batchNorm() : null;
  return new RoIHeads({
    boxRoiPool: new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2),
    boxHead: version === 'v2' ? new FastRCNNConvFCHead([8, 7, 7], [8, 8], [16], norm) : new TwoMLPHead(8 * 7 * 7, 16),
    boxPredictor: new FastRCNNPredictor(16, 4),
    maskRoiPool: new MultiScaleRoIAlign(['0', '1', '2', '3'], 14, 2),
    maskHead: new MaskRCNNHeads(8, [16, 16], 1, norm),
    maskPredictor: new MaskRCNNPredictor(16, 12, 4),
  }, opts);
}

/** The largest absolute difference of two tensors of the same shape (0 when empty). */
export function maxDiff(a: torch.Tensor, b: torch.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return torch.tidy(() => (a.numel === 0 ? 0 : a.sub(b.to(a.dtype)).abs().max().item()));
}
