// A pipeline of augmentation steps built from a JSON config, plus the train/eval presets.
//
//   const t = new Compose(trainPreset([512, 512]));
//   const out = t.run(sample, Rng.derive(seed, epoch, index)); // out.image: float32 CHW
//
// `normalize`, when present, must be the last step: it is applied while the sample is written
// out as floats (straight into a batch buffer in the loader). Without it, images are scaled to
// 0..1 (torchvision's ToTensor).
import type { Sample } from '../types.js';
import { parseTransformConfig, type Step, type StepConfig } from './config.js';
import { normalizeInto, normalizeTables, unitTables, type FloatImage, type NormalizeParams } from './normalize.js';
import { makeOp, makeScaleCropOp, type Op } from './ops.js';
import { sampleName, type BatchSink } from './geometry.js';
import { Rng } from './rng.js';

export interface ComposeOptions {
  /** Mask value for pixels coming from outside the image (pads, rotations). Default 255. */
  ignoreIndex?: number;
  /** Fuse randomScale + randomCrop (+ horizontalFlip) into one windowed resize: same output, less work. Default true. */
  fuse?: boolean;
}

export class Compose {
  readonly steps: Step[];
  readonly ignoreIndex: number;
  readonly normalizeParams: NormalizeParams | undefined;
  private readonly ops: Op[];
  private readonly tables = new Map<number, Float32Array[]>();

  constructor(config: unknown, options: ComposeOptions = {}) {
    this.steps = parseTransformConfig(config);
    this.ignoreIndex = options.ignoreIndex ?? 255;
    const ctx = { ignoreIndex: this.ignoreIndex };
    const fuse = options.fuse ?? true;
    this.ops = [];
    for (let i = 0; i < this.steps.length; i++) {
      const step = this.steps[i]!;
      const next = this.steps[i + 1];
      if (step.name === 'normalize') {
        if (i !== this.steps.length - 1) {
          throw new Error(`transform config: normalize is step ${i} of ${this.steps.length}; it must be the last step (it turns the image into floats)`);
        }
        this.normalizeParams = { mean: step.mean, std: step.std };
      } else if (fuse && step.name === 'randomScale' && next?.name === 'randomCrop') {
        const flip = this.steps[i + 2];
        const fused = flip?.name === 'horizontalFlip' ? flip : undefined;
        this.ops.push(makeScaleCropOp(step, next, fused, ctx));
        i += fused ? 2 : 1;
      } else {
        this.ops.push(makeOp(step, ctx));
      }
    }
  }

  /** The config as JSON (what a worker needs to rebuild this pipeline). */
  toJSON(): Step[] {
    return this.steps;
  }

  /** Run every step except normalize (from step `from` on); the result is still uint8. */
  apply(sample: Sample, rng: Rng, from = 0): Sample {
    let s = sample;
    for (let i = from; i < this.ops.length; i++) s = this.ops[i]!(s, rng);
    if (s.mask && (s.mask.width !== s.image.width || s.mask.height !== s.image.height)) {
      throw new Error(`${sampleName(s)}: mask is ${s.mask.width}x${s.mask.height} but the image is ${s.image.width}x${s.image.height}`);
    }
    return s;
  }

  /**
   * apply + write into a batch slot claimed from `sink`. When the pipeline ends in a fused
   * scale/crop(/flip), the last step writes floats and int32 labels straight into the batch;
   * otherwise the sample is finished as uint8 and then copied in. Same values either way.
   * Returns the finished sample (its image may be a pixel-less stub).
   */
  applyInto(sample: Sample, rng: Rng, claim: BatchSink['claim']): Sample {
    let s = sample;
    const last = this.ops.length - 1;
    for (let i = 0; i < last; i++) s = this.ops[i]!(s, rng);
    const op = last >= 0 ? this.ops[last] : undefined;
    const tables = this.floatTables(s.image.channels);
    if (op?.into && tables.length === s.image.channels) return op.into(s, rng, { tables, claim });
    if (op) s = this.apply(s, rng, last);
    const C = tables.length;
    const { width: W, height: H } = s.image;
    if (s.mask && (s.mask.width !== W || s.mask.height !== H)) {
      throw new Error(`${sampleName(s)}: mask is ${s.mask.width}x${s.mask.height} but the image is ${W}x${H}`);
    }
    const dst = claim(s, C, H, W);
    normalizeInto(s.image, tables, dst.images, dst.imageOffset);
    if (s.mask && dst.masks) dst.masks.set(s.mask.data, dst.maskOffset);
    return s;
  }

  /** Per-channel float tables for an image with `channels` channels. */
  floatTables(channels: number): Float32Array[] {
    let t = this.tables.get(channels);
    if (!t) {
      t = this.normalizeParams ? normalizeTables(this.normalizeParams) : unitTables(channels === 4 ? 3 : channels);
      this.tables.set(channels, t);
    }
    return t;
  }

  /** Number of float channels the output has for an input with `channels` channels. */
  outputChannels(channels: number): number {
    return this.floatTables(channels).length;
  }

  /** Write the (already applied) sample's image as normalised CHW floats into out[offset..]. */
  writeFloat(sample: Sample, out: Float32Array, offset: number): void {
    normalizeInto(sample.image, this.floatTables(sample.image.channels), out, offset);
  }

  /** apply + normalise into a fresh float image. */
  run(sample: Sample, rng: Rng): { sample: Sample; image: FloatImage } {
    const s = this.apply(sample, rng);
    const C = this.outputChannels(s.image.channels);
    const data = new Float32Array(C * s.image.width * s.image.height);
    this.writeFloat(s, data, 0);
    return { sample: s, image: { data, channels: C, height: s.image.height, width: s.image.width } };
  }
}

export interface PresetOptions {
  mean?: number[];
  std?: number[];
  /** Image pad value (0..255), default 0. */
  padValue?: number | number[];
}

const hw = (size: number | [number, number]): [number, number] => (typeof size === 'number' ? [size, size] : size);

/**
 * Semantic-segmentation training: random scale 0.5-2.0 around a short side of min(size), random
 * crop to size (MMSeg's cat_max_ratio 0.75), horizontal flip, photometric distortion, normalize.
 */
export function trainPreset(size: number | [number, number], options: PresetOptions = {}): StepConfig[] {
  const [h, w] = hw(size);
  return [
    { name: 'randomScale', range: [0.5, 2.0], shortSide: Math.min(h, w) },
    { name: 'randomCrop', size: [h, w], padValue: options.padValue ?? 0, catMaxRatio: 0.75 },
    { name: 'horizontalFlip', p: 0.5 },
    { name: 'photometricDistortion' },
    normalizeConfig(options),
  ];
}

/**
 * Evaluation: fit the image inside size keeping its aspect ratio, pad bottom/right to size (mask
 * padding is ignore, so metrics skip it), normalize. Every sample comes out size, so it batches.
 */
export function evalPreset(size: number | [number, number], options: PresetOptions = {}): StepConfig[] {
  const [h, w] = hw(size);
  return [
    { name: 'resize', size: [h, w], keepRatio: true, antialias: true },
    { name: 'pad', size: [h, w], padValue: options.padValue ?? 0 },
    normalizeConfig(options),
  ];
}

function normalizeConfig(options: PresetOptions): StepConfig {
  const step: StepConfig = { name: 'normalize' };
  if (options.mean) step.mean = options.mean;
  if (options.std) step.std = options.std;
  return step;
}

export { Rng };
