// What `segkit predict` and `segkit eval` share: which model and weights, the backend that runs it
// (libtorch, ONNX Runtime, or whichever is faster here), the normalisation, the class names and
// colours, and how inference runs (test-time scales, flip, sliding windows).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readSafetensorsMetadata } from '../io/safetensors.js';
import type { Module } from '../nn/index.js';
import type { FlipMode, InferenceOptions } from '../predict/inference.js';
import type { Forward } from '../predict/forward.js';
import type { BackendChoice } from '../ort/choose.js';
import type { OnnxModel } from '../ort/session.js';
import type { Palette } from '../data/overlay.js';
import type { LabelMap } from '../data/labelmap.js';
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
/** A score or probability: a number from 0 to 1. */
export const unitInterval = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} is a score from 0 to 1, got "${v}"`);
  return n;
};
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export interface ModelFlags {
  model?: string;
  weights?: string;
  numClasses?: number;
  labelMap?: string;
  scales?: number[];
  flip?: FlipMode;
  window?: number;
  overlap: number;
  threshold: number;
  mean?: number[];
  std?: number[];
  threads?: number;
  backend?: 'torch' | 'ort' | 'auto';
  onnx?: string;
}

/** Adds the model, weights, normalisation and inference options to `cmd`. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <name>', 'model name, as models.create takes it (e.g. deeplabv3_resnet101, unet_resnet34; segkit models lists them); default: the one segkit train saved in --weights')
    .option('-w, --weights <file|name>', "a .safetensors/.pth file (best.safetensors of a segkit run carries its model, classes and normalisation), a torchvision weight name ('DEFAULT', 'COCO_WITH_VOC_LABELS_V1'), or an .onnx file (runs with ONNX Runtime)")
    .addOption(new Option('--backend <name>', 'what runs the model: torch (libtorch), ort (ONNX Runtime, an .onnx from segkit export), auto (times libtorch and ONNX Runtime once per input size on this machine, keeps the faster; --onnx, else the model exported in memory); default torch, ort for --weights *.onnx').choices(['torch', 'ort', 'auto']))
    .option('--onnx <file>', 'the exported model (.onnx) for --backend ort or auto')
    .option('--num-classes <n>', "classes the weights were trained for (default: the label map's, else the weight name's, else the model's default)", positive('--num-classes'))
    .option('--label-map <file>', "label map (JSON/YAML) with class names and colours (default: the data's, else the weights' classes; VOC colours)")
    .option('--scales <list>', 'test-time scales to average, e.g. 0.5,0.75,1,1.25,1.5,1.75', numberList('--scales'))
    .addOption(new Option('--flip [direction]', 'also average mirrored images: horizontal (the default), vertical, or both (4 passes)').choices(['horizontal', 'vertical', 'both']))
    .option('--window <n>', 'sliding-window inference with windows of n pixels (images larger than the training crop)', positive('--window'))
    .addOption(new Option('--overlap <f>', 'share of a window its neighbour overlaps').default(1 / 3, '1/3').argParser(Number))
    .option('--threshold <f>', 'one-channel (binary) models: foreground at this probability or above', Number, 0.5)
    .option('--mean <r,g,b>', "normalisation mean in [0, 1] (default: the weights', else ImageNet's)", numberList('--mean'))
    .option('--std <r,g,b>', "normalisation std in [0, 1] (default: the weights', else ImageNet's)", numberList('--std'))
    .option('--threads <n>', 'intra-op threads (default: the cores available)', positive('--threads'));
}

export interface LoadedModel {
  /** The libtorch model (absent with --backend ort). */
  model?: Module;
  /** Logits for a normalised batch, by the chosen backend: what predictFiles and evaluate take. */
  forward: Forward;
  backend: 'torch' | 'ort' | 'auto';
  /** What the model predicts: class masks ('semantic') or objects ('instance': Mask R-CNN's detections). */
  kind: 'semantic' | 'instance';
  /** The model's name (registry name, or the exported model's). */
  name: string;
  /** The builder options used (numClasses included): libtorch models only. */
  options?: Record<string, unknown>;
  normalize: NormalizeParams;
  classes?: string[];
  palette: Palette;
  inference: InferenceOptions;
  /** One line saying what was loaded and how inputs are normalised. */
  description: string;
  /** Frees the model and closes the ONNX Runtime session. */
  dispose(): Promise<void>;
}

type DataClasses = { classes?: string[]; palette?: Palette };

/**
 * The model in eval mode with its weights, run by the backend asked for, and what inference
 * needs. `data` gives the class names, colours and class count of a dataset's label map when no
 * --label-map is given.
 */
export async function loadModel(o: ModelFlags, data?: DataClasses): Promise<LoadedModel> {
  const onnxWeights = o.weights?.toLowerCase().endsWith('.onnx') ? o.weights : undefined;
  const backend = o.backend ?? (onnxWeights ? 'ort' : 'torch');
  const onnxFile = o.onnx ?? onnxWeights;
  // libtorch does the pre- and post-processing with either backend
  if (o.threads) (await import('../torch/index.js')).setNumThreads(o.threads);
  // the run's test-time settings (test.scales/flip of its config) unless the command line gives them
  const saved = savedBySegkit(o.weights);
  const inference: InferenceOptions = { scales: o.scales ?? saved?.inference?.scales, flip: o.flip ?? saved?.inference?.flip, window: o.window ? { size: o.window, overlap: o.overlap } : undefined };
  if (backend === 'ort') {
    if (onnxFile === undefined) throw new Error('--backend ort runs an exported model: give --onnx model.onnx (or --weights model.onnx); segkit export writes one');
    const { bytes: _, ...onnx } = await loadOnnx(o, onnxFile, data);
    return { ...onnx, inference };
  }
  if (onnxWeights) throw new Error(`${onnxWeights} is an ONNX model: run it with --backend ort (or as --onnx beside the libtorch weights with --backend auto)`);
  const torch = await loadTorch(o, saved, data);
  if (torch.kind === 'instance') {
    // a detector returns boxes, labels, scores and masks, not logits to average or window
    const semanticOnly = [o.scales && '--scales', o.flip && '--flip', o.window && '--window', backend !== 'torch' && `--backend ${backend}`].filter(Boolean);
    if (semanticOnly.length > 0) {
      await torch.dispose();
      throw new Error(`${torch.name} is an instance model (Mask R-CNN): ${semanticOnly.join(', ')} ${semanticOnly.length > 1 ? 'are' : 'is'} for semantic models; leave ${semanticOnly.length > 1 ? 'them' : 'it'} out (instance models run with libtorch, one pass per image)`);
    }
    return { ...torch, inference: {} };
  }
  if (backend === 'torch') return { ...torch, inference };
  try {
    return { ...(await loadAuto(o, torch, onnxFile, data)), inference };
  } catch (e) {
    await torch.dispose();
    throw e;
  }
}

/**
 * --backend auto: the libtorch model and its ONNX twin (the .onnx given, else the model exported
 * in memory when ONNX Runtime is first needed: not at all when the cached choice is libtorch).
 */
async function loadAuto(o: ModelFlags, torch: LoadedTorchModel, onnxFile: string | undefined, data?: DataClasses): Promise<Loaded> {
  const given = onnxFile === undefined ? undefined : await loadOnnx(o, onnxFile, data);
  let exported: Promise<OnnxModel> | undefined;
  const exportedModel = (): Promise<OnnxModel> => (exported ??= (async () => {
    const [{ exportOnnx }, { openOnnx }] = await Promise.all([import('../export/index.js'), import('../ort/session.js')]);
    console.error(`exporting ${torch.name} to ONNX (in memory) to time it with ONNX Runtime; segkit export writes it to a file for --onnx`);
    return openOnnx({ bytes: exportOnnx(torch.model), source: `${torch.name} (exported)` }, { threads: o.threads });
  })());
  const ortForward: Forward = given ? given.forward : async (x) => (await exportedModel()).forward(x);
  const [{ autoForward }, ort, { machineKey, modelKey }, { EXPORT_FORMAT }] = await Promise.all([
    import('../ort/choose.js'),
    import('../ort/session.js').then((m) => m.loadOrt()),
    import('../nn/choice-cache.js'),
    import('../export/index.js'),
  ]);
  const onnxKey = given ? `onnx ${createHash('sha256').update(given.bytes).digest('hex').slice(0, 16)}` : `segkit export ${EXPORT_FORMAT}`;
  const key = [machineKey(), `onnxruntime ${ort.env.versions.common}`, modelKey(torch.model), onnxKey].join(' | ');
  return {
    ...torch,
    forward: autoForward({ torch: torch.forward, ort: ortForward }, { key, onChoice: (c) => console.error(describeChoice(c)) }),
    backend: 'auto',
    description: `${torch.description}; backend: auto (libtorch or ONNX Runtime${onnxFile ? ` with ${onnxFile}` : ''}, whichever is faster per input size)`,
    dispose: async () => {
      await given?.dispose();
      if (exported) await (await exported).release();
      await torch.dispose();
    },
  };
}

/** One line for the terminal: which backend, why, for which input shape. */
export function describeChoice(c: BackendChoice): string {
  const name = c.backend === 'ort' ? 'ONNX Runtime' : 'libtorch';
  const timing = c.source === 'cache' ? 'measured earlier, cached' : `libtorch ${c.seconds.torch?.toFixed(3)} s, ONNX Runtime ${c.seconds.ort?.toFixed(3)} s per pass`;
  return `backend for ${c.shape.join('x')} inputs: ${name} (${timing})`;
}

type Loaded = Omit<LoadedModel, 'inference'>;
/** A libtorch model as loadModel gives it with --backend torch: the Module and its options are there. */
export type LoadedTorchModel = Loaded & { model: Module; options: Record<string, unknown> };

/** The libtorch model alone (what segkit export needs), whatever --backend says. */
export async function loadTorchModel(o: ModelFlags, data?: DataClasses): Promise<LoadedTorchModel> {
  if (o.threads) (await import('../torch/index.js')).setNumThreads(o.threads);
  return loadTorch(o, savedBySegkit(o.weights), data);
}

/** The label map of --label-map, when given. */
async function labelMapFlag(o: ModelFlags): Promise<LabelMap | undefined> {
  if (!o.labelMap) return undefined;
  const [{ compiledLabelMap, parseLabelMap }, { readConfigFile }] = await Promise.all([import('../data/labelmap.js'), import('../data/doctor/input.js')]);
  return compiledLabelMap(parseLabelMap(readConfigFile(o.labelMap), o.labelMap));
}

/** `saved`: what segkit train stored in o.weights (read once by the caller). */
async function loadTorch(o: ModelFlags, saved: SavedRun | undefined, data?: DataClasses): Promise<LoadedTorchModel> {
  const [{ createAsync, modelEntry, weightsName, weightsOf, replaceWithConvHead, loadPretrained, describeLoad }, { vocPalette }, { moduleForward }, labelMap] = await Promise.all([
    import('../models/index.js'),
    import('../data/labelmap.js'),
    import('../predict/forward.js'),
    labelMapFlag(o),
  ]);
  const name = o.model ?? saved?.model;
  if (name === undefined) throw new Error('which model? give --model (segkit models lists them), or --weights with a best.safetensors that segkit train wrote');
  const kind = modelEntry(name).kind === 'instance' ? 'instance' : 'semantic';
  // a detector's classes are its own (the run's, or its named weights' categories), not the data's:
  // evaluation maps them onto the data's categories
  const byName = o.weights !== undefined && weightsName(name, o.weights) !== undefined;
  const named = labelMap?.classes ?? (kind === 'instance' ? saved?.classes ?? (byName ? undefined : data?.classes) : data?.classes ?? saved?.classes);
  // a run's own options (widths, output channels) unless the command line says otherwise
  let options = saved && saved.model === name ? saved.options : {};
  // Mask R-CNN builders read a weights file as "pretrained" (frozen BatchNorm): a run trained
  // from scratch had trainable BatchNorm, so its own file rebuilds as it was trained
  if (kind === 'instance' && saved && saved.model === name && options.pretrained === undefined) {
    const { weights: w, weightsBackbone: wb, ...arch } = options;
    // the file holds every weight: the run's starting weights are neither needed nor downloaded
    options = { ...arch, pretrained: w !== undefined || wb !== undefined };
  }
  const numClasses = o.numClasses ?? (options.numClasses as number | undefined) ?? (named?.length ? named.length : undefined);
  const head = saved && saved.model === name ? saved.head : undefined;
  let model: Module;
  if (head === undefined) model = await createAsync(name, { ...options, weights: o.weights, numClasses });
  else {
    // the run replaced a submodule (model.head): rebuild that head, then load the run's weights into it
    const { weights: _w, weightsBackbone: _wb, ...arch } = options;
    model = await createAsync(name, { ...arch, numClasses });
    try {
      replaceWithConvHead(model, head.replace, (numClasses ?? (model as { numClasses?: number }).numClasses)!, head);
      const report = loadPretrained(model, o.weights!);
      if (report.missing.length > 0 || report.skipped.length > 0) throw new Error(`${o.weights} does not fit the model it describes:\n${describeLoad(report)}`);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  model.eval();
  const info = weightsOf(model);
  const pre = saved?.normalize ?? info.weights?.preprocessing ?? info.weightsBackbone?.preprocessing;
  const normalize = { mean: o.mean ?? pre?.mean ?? IMAGENET.mean, std: o.std ?? pre?.std ?? IMAGENET.std };
  return {
    model,
    forward: moduleForward(model),
    backend: 'torch',
    kind,
    name,
    options: { ...options, numClasses: (model as { numClasses?: number }).numClasses ?? numClasses },
    normalize,
    classes: named ?? info.weights?.categories?.slice(),
    palette: labelMap?.palette ?? data?.palette ?? vocPalette(),
    description: `${name}${o.weights ? ` (${o.weights})` : ''}; ${kind === 'instance' ? 'instance model (it takes 0..1 images and normalises them itself)' : `normalise mean ${normalize.mean.join(',')} std ${normalize.std.join(',')}`}`,
    dispose: async () => model.dispose(),
  };
}

/** An exported model: classes, colours and normalisation from the command line, else the data, else the file's metadata. */
async function loadOnnx(o: ModelFlags, file: string, data?: DataClasses): Promise<Loaded & { bytes: Uint8Array }> {
  const [{ openOnnx }, { vocPalette }, labelMap] = await Promise.all([import('../ort/session.js'), import('../data/labelmap.js'), labelMapFlag(o)]);
  const onnx = await openOnnx(file, { threads: o.threads });
  const meta = onnx.metadata;
  if (o.numClasses !== undefined && onnx.outputChannels !== undefined && Math.max(o.numClasses, 2) !== Math.max(onnx.outputChannels, 2)) {
    await onnx.release();
    throw new Error(`${file} predicts ${onnx.outputChannels} output channel${onnx.outputChannels === 1 ? '' : 's'}, not --num-classes ${o.numClasses}; leave --num-classes out with an exported model`);
  }
  const normalize = { mean: o.mean ?? meta.normalize?.mean ?? IMAGENET.mean, std: o.std ?? meta.normalize?.std ?? IMAGENET.std };
  return {
    forward: onnx.forward,
    bytes: onnx.bytes,
    backend: 'ort',
    kind: 'semantic',
    name: meta.model ?? file,
    normalize,
    classes: labelMap?.classes ?? data?.classes ?? meta.classes,
    palette: labelMap?.palette ?? data?.palette ?? meta.palette ?? vocPalette(),
    description: `${meta.model ?? 'model'} (${file}, ONNX Runtime); normalise mean ${normalize.mean.join(',')} std ${normalize.std.join(',')}${meta.normalize || o.mean ? '' : " (ImageNet's: the file has no segkit.normalize)"}`,
    dispose: () => onnx.release(),
  };
}

/** What `segkit train` stores in best/last.safetensors besides the tensors (absent for other files). */
interface SavedRun {
  model: string;
  options: Record<string, unknown>;
  classes?: string[];
  normalize?: NormalizeParams;
  /** model.head of the run's config: a submodule replaced by conv3x3-BN-ReLU-Dropout-conv1x1. */
  head?: { replace: string; hidden: number; dropout: number };
  /** test.scales / test.flip of the run's config. */
  inference?: { scales?: number[]; flip?: FlipMode };
}

function savedBySegkit(weights: string | undefined): SavedRun | undefined {
  if (!weights || !weights.endsWith('.safetensors') || !existsSync(weights)) return undefined;
  const meta = readSafetensorsMetadata(weights);
  const model = meta['segkit.model'];
  if (model === undefined) return undefined;
  const json = <T>(key: string): T | undefined => (meta[key] === undefined ? undefined : (JSON.parse(meta[key]!) as T));
  return {
    model,
    options: json<Record<string, unknown>>('segkit.options') ?? {},
    classes: json<string[]>('segkit.classes'),
    normalize: json<NormalizeParams>('segkit.normalize'),
    head: json<SavedRun['head']>('segkit.head'),
    inference: json<SavedRun['inference']>('segkit.inference'),
  };
}
