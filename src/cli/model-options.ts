// What `segkit predict` and `segkit eval` share: which model and weights, the normalisation, the
// class names and colours, and how inference runs (test-time scales, flip, sliding windows).
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readSafetensorsMetadata } from '../io/safetensors.js';
import type { Module } from '../nn/index.js';
import type { InferenceOptions } from '../predict/inference.js';
import type { Palette } from '../data/overlay.js';
import type { NormalizeParams } from '../data/transforms/normalize.js';

export const numberList = (name: string) => (v: string): number[] => {
  const values = v.split(',').map((s) => Number(s.trim()));
  if (values.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError(`${name} takes numbers separated by commas, got "${v}"`);
  return values;
};
export const positive = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
  return n;
};
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export interface ModelFlags {
  model?: string;
  weights?: string;
  numClasses?: number;
  labelMap?: string;
  scales?: number[];
  flip?: boolean;
  window?: number;
  overlap: number;
  threshold: number;
  mean?: number[];
  std?: number[];
  threads?: number;
}

/** Adds the model, weights, normalisation and inference options to `cmd`. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <name>', 'model name, as models.create takes it (e.g. deeplabv3_resnet101, unet_resnet34; segkit models lists them); default: the one segkit train saved in --weights')
    .option('-w, --weights <file|name>', "a .safetensors/.pth file (best.safetensors of a segkit run carries its model, classes and normalisation), or a torchvision weight name ('DEFAULT', 'COCO_WITH_VOC_LABELS_V1')")
    .option('--num-classes <n>', "classes the weights were trained for (default: the label map's, else the weight name's, else the model's default)", positive('--num-classes'))
    .option('--label-map <file>', "label map (JSON/YAML) with class names and colours (default: the data's, else the weights' classes; VOC colours)")
    .option('--scales <list>', 'test-time scales to average, e.g. 0.5,0.75,1,1.25,1.5,1.75', numberList('--scales'))
    .option('--flip', 'also average the horizontally flipped image')
    .option('--window <n>', 'sliding-window inference with windows of n pixels (images larger than the training crop)', positive('--window'))
    .addOption(new Option('--overlap <f>', 'share of a window its neighbour overlaps').default(1 / 3, '1/3').argParser(Number))
    .option('--threshold <f>', 'one-channel (binary) models: foreground at this probability or above', Number, 0.5)
    .option('--mean <r,g,b>', "normalisation mean in [0, 1] (default: the weights', else ImageNet's)", numberList('--mean'))
    .option('--std <r,g,b>', "normalisation std in [0, 1] (default: the weights', else ImageNet's)", numberList('--std'))
    .option('--threads <n>', 'intra-op threads (default: the cores available)', positive('--threads'));
}

export interface LoadedModel {
  model: Module;
  /** The registry name it was built by, and the builder options used (numClasses included). */
  name: string;
  options: Record<string, unknown>;
  normalize: NormalizeParams;
  classes?: string[];
  palette: Palette;
  inference: InferenceOptions;
  /** One line saying what was loaded and how inputs are normalised. */
  description: string;
}

/**
 * The model in eval mode with its weights, and what inference needs. `data` gives the class
 * names, colours and class count of a dataset's label map when no --labelmap is given.
 */
export async function loadModel(o: ModelFlags, data?: { classes?: string[]; palette?: Palette }): Promise<LoadedModel> {
  const [{ createAsync, weightsOf }, torch, { compiledLabelMap, parseLabelMap, vocPalette }, { readConfigFile }] = await Promise.all([
    import('../models/index.js'),
    import('../torch/index.js'),
    import('../data/labelmap.js'),
    import('../data/doctor/input.js'),
  ]);
  if (o.threads) torch.setNumThreads(o.threads);
  const labelMap = o.labelMap ? compiledLabelMap(parseLabelMap(readConfigFile(o.labelMap), o.labelMap)) : undefined;
  const saved = savedBySegkit(o.weights);
  const name = o.model ?? saved?.model;
  if (name === undefined) throw new Error('which model? give --model (segkit models lists them), or --weights with a best.safetensors that segkit train wrote');
  const named = labelMap?.classes ?? data?.classes ?? saved?.classes;
  // a run's own options (widths, output channels) unless the command line says otherwise
  const options = saved && saved.model === name ? saved.options : {};
  const numClasses = o.numClasses ?? (options.numClasses as number | undefined) ?? (named?.length ? named.length : undefined);
  const model = await createAsync(name, { ...options, weights: o.weights, numClasses });
  model.eval();
  const info = weightsOf(model);
  const pre = saved?.normalize ?? info.weights?.preprocessing ?? info.weightsBackbone?.preprocessing;
  const normalize = { mean: o.mean ?? pre?.mean ?? IMAGENET.mean, std: o.std ?? pre?.std ?? IMAGENET.std };
  return {
    model,
    name,
    options: { ...options, numClasses: (model as { numClasses?: number }).numClasses ?? numClasses },
    normalize,
    classes: named ?? info.weights?.categories?.slice(),
    palette: labelMap?.palette ?? data?.palette ?? vocPalette(),
    inference: { scales: o.scales, flip: o.flip, window: o.window ? { size: o.window, overlap: o.overlap } : undefined },
    description: `${name}${o.weights ? ` (${o.weights})` : ''}; normalise mean ${normalize.mean.join(',')} std ${normalize.std.join(',')}`,
  };
}

/** What `segkit train` stores in best/last.safetensors besides the tensors (absent for other files). */
function savedBySegkit(weights: string | undefined): { model: string; options: Record<string, unknown>; classes?: string[]; normalize?: NormalizeParams } | undefined {
  if (!weights || !weights.endsWith('.safetensors') || !existsSync(weights)) return undefined;
  const meta = readSafetensorsMetadata(weights);
  const model = meta['segkit.model'];
  if (model === undefined) return undefined;
  const json = <T>(key: string): T | undefined => (meta[key] === undefined ? undefined : (JSON.parse(meta[key]!) as T));
  return { model, options: json<Record<string, unknown>>('segkit.options') ?? {}, classes: json<string[]>('segkit.classes'), normalize: json<NormalizeParams>('segkit.normalize') };
}
