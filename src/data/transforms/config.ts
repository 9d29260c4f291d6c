// JSON configuration of an augmentation pipeline: a list of steps such as
//   [{ "name": "randomScale", "range": [0.5, 2.0] }, { "name": "randomCrop", "size": [512, 512] },
//    { "name": "horizontalFlip" }, { "name": "normalize" }]
// Sizes are [height, width] (torchvision's order) or one number for a square. Validated with zod;
// the parsed form has every default filled in.
import { z } from 'zod';
import { IMAGENET_MEAN, IMAGENET_STD } from './normalize.js';
import { expandPreset, isPresetItem, presetSchema, type PresetConfig } from './presets.js';

const posInt = z.number().int().positive();
const size = z.union([posInt, z.tuple([posInt, posInt])]).transform((v): [number, number] => (typeof v === 'number' ? [v, v] : v));
const range = z
  .tuple([z.number(), z.number()])
  .refine(([lo, hi]) => lo <= hi, { message: 'a range is [low, high] with low <= high' });
const positiveRange = range.refine(([lo]) => lo > 0, { message: 'range values must be > 0' });
const prob = z.number().min(0).max(1);
const fill = z.union([z.number().min(0).max(255), z.array(z.number().min(0).max(255)).min(1)]);
/** A jitter amount: x means [max(0, 1 - x), 1 + x]; or an explicit [low, high]. */
const jitter = z.union([z.number().min(0), range]);

const exactlyOne = (a: string, b: string) => (v: Record<string, unknown>) => (v[a] === undefined) !== (v[b] === undefined);

export const resizeStep = z
  .object({
    name: z.literal('resize'),
    size: size.optional(),
    shortSide: posInt.optional(),
    maxSize: posInt.optional(),
    keepRatio: z.boolean().default(false),
    antialias: z.boolean().default(false),
  })
  .strict()
  .refine(exactlyOne('size', 'shortSide'), { message: 'resize: give exactly one of size ([h, w]) or shortSide' });

export const randomScaleStep = z
  .object({
    name: z.literal('randomScale'),
    range: positiveRange.optional(),
    scales: z.array(z.number().positive()).min(1).optional(),
    shortSide: posInt.optional(),
    fit: size.optional(),
    antialias: z.boolean().default(false),
  })
  .strict()
  .refine(exactlyOne('range', 'scales'), { message: 'randomScale: give exactly one of range ([low, high]) or scales (a list)' })
  .refine((v) => v.shortSide === undefined || v.fit === undefined, { message: 'randomScale: give at most one of shortSide or fit' });

export const randomCropStep = z
  .object({
    name: z.literal('randomCrop'),
    size,
    padValue: fill.default(0),
    catMaxRatio: z.number().gt(0).max(1).default(1),
    ignoreIndex: z.number().int().min(0).optional(),
  })
  .strict();

export const centerCropStep = z.object({ name: z.literal('centerCrop'), size, padValue: fill.default(0) }).strict();

export const padStep = z
  .object({ name: z.literal('pad'), size: size.optional(), divisor: posInt.optional(), padValue: fill.default(0) })
  .strict()
  .refine((v) => v.size !== undefined || v.divisor !== undefined, { message: 'pad: give size ([h, w]) and/or divisor' });

export const horizontalFlipStep = z.object({ name: z.literal('horizontalFlip'), p: prob.default(0.5) }).strict();
export const verticalFlipStep = z.object({ name: z.literal('verticalFlip'), p: prob.default(0.5) }).strict();

export const rotationStep = z
  .object({
    name: z.literal('rotation'),
    degrees: z.union([z.number().min(0), range]).optional(),
    angles: z.array(z.number()).min(1).optional(),
    expand: z.boolean().default(false),
    p: prob.default(1),
    padValue: fill.default(0),
  })
  .strict()
  .refine(exactlyOne('degrees', 'angles'), { message: 'rotation: give exactly one of degrees (d or [low, high]) or angles (a list)' });

const oddInt = posInt.refine((v) => v % 2 === 1, { message: 'kernel sizes must be odd' });
export const gaussianBlurStep = z
  .object({
    name: z.literal('gaussianBlur'),
    kernelSize: z.union([oddInt, z.tuple([oddInt, oddInt])]).default(5),
    sigma: z.union([z.number().positive(), positiveRange]).default([0.1, 2.0]),
    p: prob.default(0.5),
  })
  .strict();

export const colorJitterStep = z
  .object({
    name: z.literal('colorJitter'),
    brightness: jitter.optional(),
    contrast: jitter.optional(),
    saturation: jitter.optional(),
    hue: z.union([z.number().min(0).max(0.5), range.refine(([lo, hi]) => lo >= -0.5 && hi <= 0.5, { message: 'hue range must lie in [-0.5, 0.5]' })]).optional(),
    p: prob.default(1),
  })
  .strict();

export const photometricDistortionStep = z
  .object({
    name: z.literal('photometricDistortion'),
    brightnessDelta: z.number().min(0).max(255).default(32),
    contrastRange: positiveRange.default([0.5, 1.5]),
    saturationRange: positiveRange.default([0.5, 1.5]),
    hueDelta: z.number().int().min(0).max(90).default(18),
  })
  .strict();

// torchvision detection references' RandomPhotometricDistort (the ssd preset's colour step):
// each of brightness, contrast (before or after the next two), saturation and hue with probability
// p, as ColorJitter factors drawn from their ranges, then a random channel order with probability p.
export const randomPhotometricDistortStep = z
  .object({
    name: z.literal('randomPhotometricDistort'),
    brightness: positiveRange.default([0.875, 1.125]),
    contrast: positiveRange.default([0.5, 1.5]),
    saturation: positiveRange.default([0.5, 1.5]),
    hue: range.refine(([lo, hi]) => lo >= -0.5 && hi <= 0.5, { message: 'hue range must lie in [-0.5, 0.5]' }).default([-0.05, 0.05]),
    p: prob.default(0.5),
  })
  .strict();

export const zoomOutStep = z
  .object({
    name: z.literal('zoomOut'),
    sideRange: range.refine(([lo]) => lo >= 1, { message: 'zoomOut sideRange must start at >= 1' }).default([1, 4]),
    p: prob.default(0.5),
    fill: fill.default(0),
  })
  .strict();

export const iouCropStep = z
  .object({
    name: z.literal('iouCrop'),
    minScale: z.number().gt(0).max(1).default(0.3),
    maxScale: z.number().gt(0).max(1).default(1),
    minAspectRatio: z.number().positive().default(0.5),
    maxAspectRatio: z.number().positive().default(2),
    overlaps: z.array(z.number().min(0).max(1)).min(1).default([0, 0.1, 0.3, 0.5, 0.7, 0.9, 1]),
    trials: posInt.default(40),
  })
  .strict();

// Detection resizes of torchvision's references/detection/transforms.py (ScaleJitter,
// FixedSizeCrop, RandomShortestSize). antialias defaults to true: the references resize PIL
// images, whose bilinear downscale is antialiased.
export const scaleJitterStep = z
  .object({
    name: z.literal('scaleJitter'),
    targetSize: size.describe('[h, w] the image is fitted inside (keeping its aspect) before the scale'),
    scaleRange: positiveRange.default([0.1, 2.0]).describe('scale drawn uniformly from [low, high] (default [0.1, 2.0], large-scale jitter)'),
    antialias: z.boolean().default(true).describe('antialiased downscale (default true, as PIL)'),
  })
  .strict();

export const fixedSizeCropStep = z
  .object({
    name: z.literal('fixedSizeCrop'),
    size: size.describe('[h, w] output: a random crop where larger, padding right/bottom where smaller'),
    fill: fill.default(0).describe('image pad value (0..255, one or per channel); masks pad with the ignore index, instances with 0'),
  })
  .strict();

export const randomShortestSizeStep = z
  .object({
    name: z.literal('randomShortestSize'),
    minSize: z
      .union([posInt, z.array(posInt).min(1)])
      .transform((v) => (typeof v === 'number' ? [v] : v))
      .describe('short side, or a list drawn from'),
    maxSize: posInt.describe('the long side stays at most this'),
    antialias: z.boolean().default(true).describe('antialiased downscale (default true, as PIL)'),
  })
  .strict();

export const normalizeStep = z
  .object({
    name: z.literal('normalize'),
    mean: z.array(z.number()).min(1).default([...IMAGENET_MEAN]),
    std: z.array(z.number().positive()).min(1).default([...IMAGENET_STD]),
  })
  .strict()
  .refine((v) => v.mean.length === v.std.length, { message: 'normalize: mean and std need the same number of entries' });

export const stepSchema = z.discriminatedUnion('name', [
  resizeStep,
  randomScaleStep,
  randomCropStep,
  centerCropStep,
  padStep,
  horizontalFlipStep,
  verticalFlipStep,
  rotationStep,
  gaussianBlurStep,
  colorJitterStep,
  photometricDistortionStep,
  randomPhotometricDistortStep,
  zoomOutStep,
  iouCropStep,
  scaleJitterStep,
  fixedSizeCropStep,
  randomShortestSizeStep,
  normalizeStep,
]);

/**
 * A transform list: steps, and presets (`{ preset: 'lsj', size: 512 }`, presets.ts) that expand
 * in place into their steps. Errors name the item's index in the list as written.
 */
export const transformConfigSchema = z.array(z.custom<StepConfig | PresetConfig>()).transform((items, ctx) => {
  const steps: Step[] = [];
  items.forEach((item, i) => {
    const preset = isPresetItem(item);
    const r = preset ? presetSchema.safeParse(item) : stepSchema.safeParse(item);
    if (!r.success) {
      for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [i, ...issue.path] });
      return;
    }
    if (preset) steps.push(...expandPreset(item).map((s) => stepSchema.parse(s)));
    else steps.push(r.data as Step);
  });
  return steps;
});

/** One step as written in JSON (defaults optional). */
export type StepConfig = z.input<typeof stepSchema>;
/** One step after validation, defaults filled in. */
export type Step = z.output<typeof stepSchema>;
export type StepName = Step['name'];
/** A transform list as written: steps and preset names. */
export type TransformConfig = (StepConfig | PresetConfig)[];

/** Validate a pipeline config (presets expanded); errors name the item index and field. */
export function parseTransformConfig(config: unknown, source = 'transform config'): Step[] {
  const r = transformConfigSchema.safeParse(config);
  if (!r.success) throw new Error(`${source} is invalid:\n${z.prettifyError(r.error)}`);
  return r.data;
}
