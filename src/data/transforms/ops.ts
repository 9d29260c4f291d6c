// Each configured step becomes an `Op`: a function of (sample, rng). Random choices come only
// from the rng handed in, drawn in a fixed order, so one seed gives one result.
import type { MaskBuffer, Sample } from '../types.js';
import { adjustBrightness, adjustContrast, adjustHsv, adjustHue, adjustSaturation, affineLevels, gaussianBlur, permuteChannels } from './color.js';
import type { Step } from './config.js';
import { cropSample, flipSample, resizeSample, rotateSample, windowSample, windowSampleInto, type BatchSink, type Box, type Fill } from './geometry.js';
import { fixedSizeCrop, randomShortestSize, scaleJitter } from './detection.js';
import { resamplePlane } from './resample.js';
import { roundHalfEven } from './rotate.js';
import type { Rng } from './rng.js';

export type Op = ((s: Sample, rng: Rng) => Sample) & {
  /** The same op writing its output straight into a batch (same draws, same pixels). */
  into?: (s: Sample, rng: Rng, sink: BatchSink) => Sample;
};

export interface OpContext {
  /** Mask value for pixels that come from outside the image (default 255). */
  ignoreIndex: number;
}

type StepOf<N extends Step['name']> = Extract<Step, { name: N }>;

// ---- sizes --------------------------------------------------------------------------------

function scaled(w: number, h: number, k: number): [number, number] {
  return [Math.max(1, Math.round(w * k)), Math.max(1, Math.round(h * k))];
}

/** Output (width, height) of a resize step for a w x h image. */
export function resizeTarget(step: StepOf<'resize'>, w: number, h: number): [number, number] {
  if (step.size) {
    const [th, tw] = step.size;
    return step.keepRatio ? scaled(w, h, Math.min(th / h, tw / w)) : [tw, th];
  }
  let k = step.shortSide! / Math.min(w, h);
  if (step.maxSize !== undefined && Math.max(w, h) * k > step.maxSize) k = step.maxSize / Math.max(w, h);
  return scaled(w, h, k);
}

/** Draw a scale and return the output (width, height) of a randomScale step. */
export function drawScaleTarget(step: StepOf<'randomScale'>, w: number, h: number, rng: Rng): [number, number] {
  const s = step.range ? rng.uniform(step.range[0], step.range[1]) : rng.pick(step.scales!);
  if (step.shortSide !== undefined) return scaled(w, h, (step.shortSide * s) / Math.min(w, h));
  if (step.fit) return scaled(w, h, Math.min((step.fit[0] * s) / h, (step.fit[1] * s) / w));
  return scaled(w, h, s);
}

// ---- crops ---------------------------------------------------------------------------------

/**
 * MMSeg's cat_max_ratio test: the crop is accepted when it holds more than one class and the
 * largest class (ignore excluded) covers less than `ratio` of the labelled pixels.
 */
function cropIsMixed(mask: MaskBuffer, x: number, y: number, cw: number, ch: number, ratio: number, ignore: number): boolean {
  const counts = new Int32Array(mask.data instanceof Uint16Array ? 65536 : 256);
  const x1 = Math.min(mask.width, x + cw);
  const y1 = Math.min(mask.height, y + ch);
  const d = mask.data;
  for (let yy = y; yy < y1; yy++) for (let i = yy * mask.width + x, e = yy * mask.width + x1; i < e; i++) counts[d[i]!]!++;
  let total = 0;
  let max = 0;
  let classes = 0;
  for (let v = 0; v < counts.length; v++) {
    const c = counts[v]!;
    if (c === 0 || v === ignore) continue;
    classes++;
    total += c;
    if (c > max) max = c;
  }
  return classes > 1 && max / total < ratio;
}

/** Draw a crop origin for a w x h image (mask optional, for catMaxRatio). */
function drawCrop(step: StepOf<'randomCrop'>, w: number, h: number, mask: MaskBuffer | undefined, ignore: number, rng: Rng): [number, number] {
  const [ch, cw] = step.size;
  const draw = (): [number, number] => {
    const y = rng.int(Math.max(h - ch, 0) + 1);
    const x = rng.int(Math.max(w - cw, 0) + 1);
    return [x, y];
  };
  let xy = draw();
  if (step.catMaxRatio < 1 && mask) {
    for (let tries = 0; tries < 10 && !cropIsMixed(mask, xy[0], xy[1], cw, ch, step.catMaxRatio, ignore); tries++) xy = draw();
  }
  return xy;
}

// ---- instances -----------------------------------------------------------------------------

function iou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** SSD's RandomIoUCrop (torchvision references): a crop that overlaps some box by at least a drawn IoU. */
function iouCrop(step: StepOf<'iouCrop'>, s: Sample, rng: Rng, fill: Fill): Sample {
  const boxes = s.instances ?? [];
  if (boxes.length === 0) return s;
  const W = s.image.width;
  const H = s.image.height;
  for (let round = 0; round < 100; round++) {
    const minIou = step.overlaps[rng.int(step.overlaps.length)]!;
    if (minIou >= 1) return s;
    for (let t = 0; t < step.trials; t++) {
      const nw = Math.trunc(W * (step.minScale + (step.maxScale - step.minScale) * rng.random()));
      const nh = Math.trunc(H * (step.minScale + (step.maxScale - step.minScale) * rng.random()));
      if (nh === 0 || nw / nh < step.minAspectRatio || nw / nh > step.maxAspectRatio) continue;
      const left = Math.trunc((W - nw) * rng.random());
      const top = Math.trunc((H - nh) * rng.random());
      if (nw === 0) continue;
      const crop: Box = [left, top, left + nw, top + nh];
      const inside = boxes.filter((b) => {
        const cx = (b.box[0] + b.box[2]) / 2;
        const cy = (b.box[1] + b.box[3]) / 2;
        return left < cx && cx < crop[2] && top < cy && cy < crop[3];
      });
      if (inside.length === 0) continue;
      if (Math.max(...inside.map((b) => iou(b.box, crop))) < minIou) continue;
      return cropSample({ ...s, instances: inside }, left, top, nw, nh, fill);
    }
  }
  return s;
}

// ---- the ops -------------------------------------------------------------------------------

const jitterRange = (v: number | [number, number] | undefined, centre: number): [number, number] | undefined =>
  v === undefined ? undefined : typeof v === 'number' ? [Math.max(0, centre - v), centre + v] : v;

export function makeOp(step: Step, ctx: OpContext): Op {
  const maskFill = (own?: number) => own ?? ctx.ignoreIndex;
  switch (step.name) {
    case 'resize':
      return (s) => {
        const [w, h] = resizeTarget(step, s.image.width, s.image.height);
        return resizeSample(s, w, h, { mask: ctx.ignoreIndex }, step.antialias);
      };
    case 'randomScale':
      return (s, rng) => {
        const [w, h] = drawScaleTarget(step, s.image.width, s.image.height, rng);
        return resizeSample(s, w, h, { mask: ctx.ignoreIndex }, step.antialias);
      };
    case 'randomCrop': {
      const fill: Fill = { image: step.padValue, mask: maskFill(step.ignoreIndex) };
      return (s, rng) => {
        const [x, y] = drawCrop(step, s.image.width, s.image.height, s.mask, fill.mask, rng);
        return cropSample(s, x, y, step.size[1], step.size[0], fill);
      };
    }
    case 'centerCrop': {
      const fill: Fill = { image: step.padValue, mask: ctx.ignoreIndex };
      return (s) => {
        const [ch, cw] = step.size;
        const x = roundHalfEven((s.image.width - cw) / 2);
        const y = roundHalfEven((s.image.height - ch) / 2);
        return cropSample(s, x, y, cw, ch, fill);
      };
    }
    case 'pad': {
      const fill: Fill = { image: step.padValue, mask: ctx.ignoreIndex };
      return (s) => {
        let w = Math.max(s.image.width, step.size?.[1] ?? 0);
        let h = Math.max(s.image.height, step.size?.[0] ?? 0);
        if (step.divisor) {
          w = Math.ceil(w / step.divisor) * step.divisor;
          h = Math.ceil(h / step.divisor) * step.divisor;
        }
        return w === s.image.width && h === s.image.height ? s : cropSample(s, 0, 0, w, h, fill);
      };
    }
    case 'horizontalFlip':
      return (s, rng) => (rng.bool(step.p) ? flipSample(s, true) : s);
    case 'verticalFlip':
      return (s, rng) => (rng.bool(step.p) ? flipSample(s, false) : s);
    case 'rotation': {
      const fill: Fill = { image: step.padValue, mask: ctx.ignoreIndex };
      const [lo, hi] = typeof step.degrees === 'number' ? [-step.degrees, step.degrees] : (step.degrees ?? [0, 0]);
      return (s, rng) => {
        if (step.p < 1 && !rng.bool(step.p)) return s;
        const angle = step.angles ? rng.pick(step.angles) : rng.uniform(lo, hi);
        return angle === 0 ? s : rotateSample(s, angle, step.expand, fill);
      };
    }
    case 'gaussianBlur': {
      const k: [number, number] = typeof step.kernelSize === 'number' ? [step.kernelSize, step.kernelSize] : step.kernelSize;
      const [lo, hi] = typeof step.sigma === 'number' ? [step.sigma, step.sigma] : step.sigma;
      return (s, rng) => {
        if (!rng.bool(step.p)) return s;
        const sigma = rng.uniform(lo, hi);
        return { ...s, image: gaussianBlur(s.image, k, [sigma, sigma]) };
      };
    }
    case 'colorJitter': {
      const b = jitterRange(step.brightness, 1);
      const c = jitterRange(step.contrast, 1);
      const sat = jitterRange(step.saturation, 1);
      const hue = step.hue === undefined ? undefined : typeof step.hue === 'number' ? [-step.hue, step.hue] : step.hue;
      return (s, rng) => {
        if (step.p < 1 && !rng.bool(step.p)) return s;
        // torchvision ColorJitter.get_params: order first, then the factors.
        const order = rng.permutation(4);
        const fb = b && rng.uniform(b[0], b[1]);
        const fc = c && rng.uniform(c[0], c[1]);
        const fs = sat && rng.uniform(sat[0], sat[1]);
        const fh = hue && rng.uniform(hue[0]!, hue[1]!);
        let img = s.image;
        for (const op of order) {
          if (op === 0 && fb !== undefined) img = adjustBrightness(img, fb);
          else if (op === 1 && fc !== undefined) img = adjustContrast(img, fc);
          else if (op === 2 && fs !== undefined) img = adjustSaturation(img, fs);
          else if (op === 3 && fh !== undefined) img = adjustHue(img, fh);
        }
        return img === s.image ? s : { ...s, image: img };
      };
    }
    case 'randomPhotometricDistort':
      // the draws of the reference: seven uniforms first, then each ColorJitter's factor
      return (s, rng) => {
        const r = Array.from({ length: 7 }, () => rng.random());
        const draw = ([lo, hi]: readonly [number, number]) => rng.uniform(lo, hi);
        let img = s.image;
        if (r[0]! < step.p) img = adjustBrightness(img, draw(step.brightness));
        const contrastBefore = r[1]! < 0.5;
        if (contrastBefore && r[2]! < step.p) img = adjustContrast(img, draw(step.contrast));
        if (r[3]! < step.p) img = adjustSaturation(img, draw(step.saturation));
        if (r[4]! < step.p) img = adjustHue(img, draw(step.hue));
        if (!contrastBefore && r[5]! < step.p) img = adjustContrast(img, draw(step.contrast));
        if (r[6]! < step.p) img = permuteChannels(img, rng.permutation(img.channels));
        return img === s.image ? s : { ...s, image: img };
      };
    case 'photometricDistortion':
      // MMSeg PhotometricDistortion: brightness, contrast (first or last), saturation, hue,
      // each applied with probability 1/2.
      return (s, rng) => {
        let img = s.image;
        if (rng.bool()) {
          const d = rng.uniform(-step.brightnessDelta, step.brightnessDelta);
          img = affineLevels(img, 1, d);
        }
        const contrastFirst = rng.bool();
        const contrast = () => {
          if (rng.bool()) img = affineLevels(img, rng.uniform(step.contrastRange[0], step.contrastRange[1]), 0);
        };
        if (contrastFirst) contrast();
        if (rng.bool()) img = adjustHsv(img, 0, rng.uniform(step.saturationRange[0], step.saturationRange[1]));
        if (rng.bool()) img = adjustHsv(img, rng.intRange(-step.hueDelta, step.hueDelta) / 180, 1);
        if (!contrastFirst) contrast();
        return img === s.image ? s : { ...s, image: img };
      };
    case 'zoomOut': {
      const fill: Fill = { image: step.fill, mask: ctx.ignoreIndex };
      return (s, rng) => {
        if (!rng.bool(step.p)) return s;
        const r = rng.uniform(step.sideRange[0], step.sideRange[1]);
        const { width: W, height: H } = s.image;
        const cw = Math.trunc(W * r);
        const ch = Math.trunc(H * r);
        const left = Math.trunc((cw - W) * rng.random());
        const top = Math.trunc((ch - H) * rng.random());
        return windowSample(s, W, H, { x: -left, y: -top, width: cw, height: ch }, fill);
      };
    }
    case 'iouCrop': {
      const fill: Fill = { image: 0, mask: ctx.ignoreIndex };
      return (s, rng) => iouCrop(step, s, rng, fill);
    }
    case 'scaleJitter':
      return (s, rng) => scaleJitter(step, s, rng);
    case 'fixedSizeCrop':
      return (s, rng) => fixedSizeCrop(step, s, rng, ctx.ignoreIndex);
    case 'randomShortestSize':
      return (s, rng) => randomShortestSize(step, s, rng);
    case 'normalize':
      throw new Error('normalize is applied by Compose when the sample is written out, not as an op');
  }
}

/**
 * randomScale immediately followed by randomCrop (and optionally horizontalFlip), fused: the
 * same draws in the same order as the ops apart, but only the kept window of the scaled image
 * is computed, and the flip is folded into it.
 */
export function makeScaleCropOp(scale: StepOf<'randomScale'>, crop: StepOf<'randomCrop'>, flip: StepOf<'horizontalFlip'> | undefined, ctx: OpContext): Op {
  const fill: Fill = { image: crop.padValue, mask: crop.ignoreIndex ?? ctx.ignoreIndex };
  const draw = (s: Sample, rng: Rng) => {
    const [w, h] = drawScaleTarget(scale, s.image.width, s.image.height, rng);
    let mask: MaskBuffer | undefined;
    if (crop.catMaxRatio < 1 && s.mask) {
      // The class-ratio test needs the scaled mask (cheap, nearest); the image waits for the window.
      const m = s.mask;
      mask = { data: resamplePlane(m.data, m.width, m.height, w, h, { x: 0, y: 0, width: w, height: h }, fill.mask), width: w, height: h };
    }
    const [x, y] = drawCrop(crop, w, h, mask, fill.mask, rng);
    const flipX = flip !== undefined && rng.bool(flip.p);
    return { w, h, win: { x, y, width: crop.size[1], height: crop.size[0] }, flipX };
  };
  const op: Op = (s, rng) => {
    const d = draw(s, rng);
    return windowSample(s, d.w, d.h, d.win, fill, scale.antialias, d.flipX);
  };
  op.into = (s, rng, sink) => {
    const d = draw(s, rng);
    return windowSampleInto(s, d.w, d.h, d.win, fill, scale.antialias, d.flipX, sink);
  };
  return op;
}
