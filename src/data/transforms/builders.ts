// Typed builders for transform steps, so a pipeline kept in a variable type-checks without
// `as const`:
//
//   const train = [T.randomScale({ range: [0.5, 2] }), T.randomCrop({ size: 512 }), T.horizontalFlip(), T.normalize()];
//   const same = defineTransforms([{ name: 'randomCrop', size: 512 }]);   // literal names kept
import type { StepConfig, StepName } from './config.js';

/** The config of step `N`. */
export type StepOf<N extends StepName> = Extract<StepConfig, { name: N }>;
/** Its options: the config without `name`. */
export type StepOptions<N extends StepName> = Omit<StepOf<N>, 'name'>;
type Args<N extends StepName> = Record<string, never> extends StepOptions<N> ? [options?: StepOptions<N>] : [options: StepOptions<N>];

function builder<N extends StepName>(name: N): (...args: Args<N>) => StepOf<N> {
  return (...args) => ({ name, ...(args[0] ?? {}) }) as StepOf<N>;
}

/** One builder per transform step; each returns the step's JSON config. */
export const T = {
  resize: builder('resize'),
  randomScale: builder('randomScale'),
  randomCrop: builder('randomCrop'),
  centerCrop: builder('centerCrop'),
  pad: builder('pad'),
  horizontalFlip: builder('horizontalFlip'),
  verticalFlip: builder('verticalFlip'),
  rotation: builder('rotation'),
  gaussianBlur: builder('gaussianBlur'),
  colorJitter: builder('colorJitter'),
  photometricDistortion: builder('photometricDistortion'),
  randomPhotometricDistort: builder('randomPhotometricDistort'),
  zoomOut: builder('zoomOut'),
  iouCrop: builder('iouCrop'),
  scaleJitter: builder('scaleJitter'),
  fixedSizeCrop: builder('fixedSizeCrop'),
  randomShortestSize: builder('randomShortestSize'),
  normalize: builder('normalize'),
} satisfies { [N in StepName]: (...args: never[]) => StepOf<N> };

/** A pipeline as it is written: the argument is typed as steps, so names and tuples stay literal. */
export function defineTransforms(steps: StepConfig[]): StepConfig[] {
  return steps;
}
