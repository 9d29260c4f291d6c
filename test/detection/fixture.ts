// The detection fixture (test/fixtures/detection/gen_detection.py, torchvision 0.14): its tensors
// as segkit tensors (the caller disposes them) and its case list.
import assert from 'node:assert/strict';
import { fixture } from '../paths.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { fromRaw, tidy, type Tensor } from '../../src/torch/index.js';

const file = readSafetensors(fixture('detection', 'detection.safetensors'));

export interface FixtureCase {
  kind: 'nms' | 'batchedNms' | 'roiAlign';
  name: string;
  iouThreshold?: number;
  outputSize?: [number, number];
  spatialScale?: number;
  samplingRatio?: number;
  aligned?: boolean;
  dtype?: 'float32' | 'float64';
  /** RoIAlign boxes (default 'roi/rois'). */
  rois?: string;
}

export const cases = JSON.parse(file.metadata.cases) as FixtureCase[];
export const metadata = file.metadata;

/** A fixture tensor as stored. */
export function load(key: string): Tensor {
  const raw = file.tensors.get(key);
  assert.ok(raw, `detection fixture has no '${key}' (regenerate it with gen_detection.py)`);
  return fromRaw(raw);
}

/** NMS inputs are stored as int16 quarter pixels and 1/4096 score units: back to float32 (or float64). */
export function nmsInputs(name: string, dtype: 'float32' | 'float64' = 'float32'): { boxes: Tensor; scores: Tensor } {
  return tidy(() => ({ boxes: load(`${name}/boxes_q`).to(dtype).div(4), scores: load(`${name}/scores_q`).to(dtype).div(4096) }));
}

/** Stored int16 indices as plain numbers. */
export const indices = (key: string): number[] => tidy(() => load(key).toArray());

/** max |a − e| / max(1, max |e|) over two tensors of the same shape. */
export function maxError(actual: Tensor, expected: Tensor): number {
  assert.deepEqual(actual.shape, expected.shape, 'shapes differ');
  const a = actual.toArray();
  const e = expected.toArray();
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < e.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - e[i]));
    scale = Math.max(scale, Math.abs(e[i]));
  }
  return diff / scale;
}

/** Asserts `actual` equals the fixture tensor `key` within `tol` (errors relative to max(1, max |e|)). */
export function assertNear(actual: Tensor, key: string, tol = 1e-5): void {
  const expected = load(key);
  try {
    const err = maxError(actual, expected);
    assert.ok(err <= tol, `${key}: error ${err.toExponential(2)} > ${tol}`);
  } finally {
    expected.dispose();
  }
}
