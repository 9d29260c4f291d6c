// The training presets of torchvision's detection references (references/detection/presets.py,
// DetectionPresetTrain), by name, as one item of a transform list:
//   [{ "preset": "lsj", "size": 512 }, { "name": "normalize" }]
// expands to scaleJitter + fixedSizeCrop + horizontalFlip. The references' image mean
// (123, 117, 104) fills zoom-outs and crop pads.
import { z } from 'zod';
import type { StepConfig } from './config.js';

export const PRESET_NAMES = ['hflip', 'lsj', 'multiscale', 'ssd', 'ssdlite'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** The references' mean pixel (0..255), the fill of zoomOut and fixedSizeCrop. */
export const DETECTION_MEAN = [123, 117, 104];
/** The short sides `multiscale` draws from: 480, 512, ..., 800. */
export const MULTISCALE_SIZES = Array.from({ length: 11 }, (_, i) => 480 + 32 * i);

const posInt = z.number().int().positive();

export const presetSchema = z
  .object({
    preset: z.enum(PRESET_NAMES).describe('hflip | lsj | multiscale | ssd | ssdlite (torchvision DetectionPresetTrain)'),
    size: z.union([posInt, z.tuple([posInt, posInt])]).optional().describe('lsj: output size [h, w] (default 1024)'),
    minSize: z.array(posInt).min(1).optional().describe('multiscale: short sides drawn from (default 480..800 step 32)'),
    maxSize: posInt.optional().describe('multiscale: longest side at most (default 1333)'),
    hflipProb: z.number().min(0).max(1).default(0.5).describe('probability of the horizontal flip'),
    mean: z.array(z.number().min(0).max(255)).min(1).default(DETECTION_MEAN).describe('fill of zoomOut (ssd) and the crop pad (lsj), 0..255'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.size !== undefined && p.preset !== 'lsj') ctx.addIssue({ code: 'custom', path: ['size'], message: `size belongs to preset lsj, not ${p.preset}` });
    for (const k of ['minSize', 'maxSize'] as const) {
      if (p[k] !== undefined && p.preset !== 'multiscale') ctx.addIssue({ code: 'custom', path: [k], message: `${k} belongs to preset multiscale, not ${p.preset}` });
    }
  });

export type PresetConfig = z.input<typeof presetSchema>;

/** The steps a preset stands for (as JSON configs, defaults left to the step schemas). */
export function expandPreset(config: PresetConfig): StepConfig[] {
  const p = presetSchema.parse(config);
  const flip: StepConfig = { name: 'horizontalFlip', p: p.hflipProb };
  switch (p.preset) {
    case 'hflip':
      return [flip];
    case 'lsj': {
      const size = p.size ?? 1024;
      return [{ name: 'scaleJitter', targetSize: size, scaleRange: [0.1, 2.0] }, { name: 'fixedSizeCrop', size, fill: p.mean }, flip];
    }
    case 'multiscale':
      return [{ name: 'randomShortestSize', minSize: p.minSize ?? MULTISCALE_SIZES, maxSize: p.maxSize ?? 1333 }, flip];
    case 'ssd':
      return [{ name: 'randomPhotometricDistort' }, { name: 'zoomOut', fill: p.mean }, { name: 'iouCrop' }, flip];
    case 'ssdlite':
      return [{ name: 'iouCrop' }, flip];
  }
}

/** True for a transform-list item that names a preset rather than a step. */
export function isPresetItem(item: unknown): item is PresetConfig {
  return typeof item === 'object' && item !== null && 'preset' in item;
}
