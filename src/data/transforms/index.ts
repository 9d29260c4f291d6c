// Augmentations for segmentation samples: geometry moves image, mask and instances together;
// colour ops touch the image only; every random choice comes from a seeded Rng.
export { Rng, mixSeed } from './rng.js';
export { T, defineTransforms, type StepOf, type StepOptions } from './builders.js';
export { Compose, trainPreset, evalPreset, type ComposeOptions, type PresetOptions } from './compose.js';
export { parseTransformConfig, stepSchema, transformConfigSchema, type Step, type StepConfig, type StepName, type TransformConfig } from './config.js';
export {
  windowSample,
  resizeSample,
  cropSample,
  flipSample,
  rot90Sample,
  rotateSample,
  boxFromMask,
  type Box,
  type Fill,
} from './geometry.js';
export { adjustBrightness, adjustContrast, adjustSaturation, adjustHue, adjustHsv, affineLevels, gaussianBlur, gaussianKernel } from './color.js';
export { normalizeImage, normalizeInto, normalizeTables, unitTables, IMAGENET_MEAN, IMAGENET_STD, type FloatImage, type NormalizeParams } from './normalize.js';
export { resampleImage, resampleImageInto, resamplePlane, resamplePlaneInto, type Window } from './resample.js';
export { rotateImage, rotatePlane, expandedSize, flipInterleaved, rot90Interleaved } from './rotate.js';
export { expandPreset, presetSchema, PRESET_NAMES, DETECTION_MEAN, MULTISCALE_SIZES, type PresetConfig, type PresetName } from './presets.js';
export { scaleJitter, fixedSizeCrop, randomShortestSize } from './detection.js';
export { makeOp, type Op, type OpContext } from './ops.js';
