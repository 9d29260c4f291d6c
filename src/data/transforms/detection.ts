// The resizes of torchvision's detection references (references/detection/transforms.py) on a
// whole sample: ScaleJitter, FixedSizeCrop and RandomShortestSize. Sizes are truncated as the
// references' int() does; boxes are scaled (and clipped by a crop), masks resampled nearest, and
// an instance whose box became degenerate or whose mask became empty is dropped (FixedSizeCrop's
// is_valid; geometry.ts settle()).
import type { Sample } from '../types.js';
import type { Step } from './config.js';
import { resizeSample, windowSample, type Fill } from './geometry.js';
import type { Rng } from './rng.js';

type StepOf<N extends Step['name']> = Extract<Step, { name: N }>;

const truncated = (v: number): number => Math.max(1, Math.trunc(v));

/**
 * ScaleJitter: scale drawn uniformly in scaleRange, times the ratio that fits the image inside
 * targetSize [h, w] keeping its aspect. (The reference divides target_size[1] by the height and
 * [0] by the width; the two agree for square targets, the only ones its presets use.)
 */
export function scaleJitter(step: StepOf<'scaleJitter'>, s: Sample, rng: Rng): Sample {
  const { width: W, height: H } = s.image;
  const scale = rng.uniform(step.scaleRange[0], step.scaleRange[1]);
  const r = Math.min(step.targetSize[0] / H, step.targetSize[1] / W) * scale;
  return resizeSample(s, truncated(W * r), truncated(H * r), { mask: 0 }, step.antialias);
}

/**
 * FixedSizeCrop: a crop of at most size [h, w] at a random offset (one draw for both axes, as
 * the reference), then padding on the right and bottom up to size with `fill`.
 */
export function fixedSizeCrop(step: StepOf<'fixedSizeCrop'>, s: Sample, rng: Rng, maskFill: number): Sample {
  const { width: W, height: H } = s.image;
  const [ch, cw] = step.size;
  let top = 0;
  let left = 0;
  if (H > ch || W > cw) {
    const r = rng.random();
    top = Math.trunc(Math.max(H - ch, 0) * r);
    left = Math.trunc(Math.max(W - cw, 0) * r);
  }
  if (top === 0 && left === 0 && W === cw && H === ch) return s;
  const fill: Fill = { image: step.fill, mask: maskFill };
  return windowSample(s, W, H, { x: left, y: top, width: cw, height: ch }, fill);
}

/** RandomShortestSize: short side drawn from minSize, the long side kept at most maxSize. */
export function randomShortestSize(step: StepOf<'randomShortestSize'>, s: Sample, rng: Rng): Sample {
  const { width: W, height: H } = s.image;
  const min = step.minSize[rng.int(step.minSize.length)]!;
  const r = Math.min(min / Math.min(H, W), step.maxSize / Math.max(H, W));
  return resizeSample(s, truncated(W * r), truncated(H * r), { mask: 0 }, step.antialias);
}
