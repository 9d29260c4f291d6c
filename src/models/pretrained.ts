// Loading pretrained weights into a model that is not quite the one they were saved from: a head
// with another class count, a file with extra or missing heads (aux), ImageNet classification
// weights under a segmentation model's backbone, a first conv for 1 or 4 input channels. What
// matches is loaded; everything else is reported key by key with the reason, never dropped silently.
import { Tensor, fromRaw, tidy } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { readWeights, type RawTensor, type ReadWeightsOptions } from '../io/index.js';

export interface SkippedKey {
  key: string;
  reason: string;
}

export interface LoadReport {
  /** The file (or 'state dict') the weights came from. */
  source: string;
  /** Keys copied into the model. */
  loaded: string[];
  /** Keys of the file not loaded, with the reason. */
  skipped: SkippedKey[];
  /** Keys of the model the file lacks: they keep their initial values. */
  missing: string[];
  /** Keys loaded after adapting (a first conv for another number of input channels). */
  adapted: SkippedKey[];
}

/** A few lines for a person: counts, then each skipped, missing and adapted key with its reason. */
export function describeLoad(r: LoadReport, maxLines = 12): string {
  const lines = [`${r.source}: loaded ${r.loaded.length} tensors` + (r.adapted.length ? `, adapted ${r.adapted.length}` : '') + (r.skipped.length ? `, skipped ${r.skipped.length}` : '') + (r.missing.length ? `, ${r.missing.length} model keys not in the file (left as initialised)` : '')];
  const items = [
    ...r.adapted.map((s) => `  adapted ${s.key}: ${s.reason}`),
    ...groupByReason(r.skipped).map(([keys, reason]) => `  skipped ${keys}: ${reason}`),
    ...r.missing.map((k) => `  missing ${k}`),
  ];
  lines.push(...items.slice(0, maxLines));
  if (items.length > maxLines) lines.push(`  ... and ${items.length - maxLines} more`);
  return lines.join('\n');
}

// Skipped keys sharing a reason and a top-level module read as one line ('aux_classifier.* (8 keys)').
function groupByReason(skipped: SkippedKey[]): [string, string][] {
  const groups = new Map<string, string[]>();
  for (const s of skipped) {
    const id = `${s.key.split('.')[0]}\u0000${s.reason}`;
    groups.set(id, [...(groups.get(id) ?? []), s.key]);
  }
  return [...groups].map(([id, keys]) => [keys.length > 2 ? `${id.split('\u0000')[0]}.* (${keys.length} keys)` : keys.join(', '), id.split('\u0000')[1]]);
}

export interface LoadPretrainedOptions extends ReadWeightsOptions {
  /** Keys of the file that are expected not to fit and are skipped with this reason (e.g. an ImageNet fc). */
  ignore?: { test: (key: string) => boolean; reason: string };
}

const shape = (s: number[]): string => `[${s.join(', ')}]`;

/**
 * Loads what fits of a weights file (or a state dict) into `model` and reports the rest. Shapes
 * that differ only in the input channels of a 4-D weight (the first conv of a model built for
 * 1 or 4 channels) are adapted as segmentation_models_pytorch does: summed for 1 channel, the
 * RGB filters repeated and scaled by 3/C for more.
 */
export function loadPretrained(model: Module, source: string | Map<string, RawTensor | Tensor>, opts: LoadPretrainedOptions = {}): LoadReport {
  const name = typeof source === 'string' ? source : 'state dict';
  let given: Map<string, RawTensor | Tensor> = typeof source === 'string' ? readWeights(source, opts) : withoutPrefix(source, opts.stripPrefix);
  given = stripCommonPrefix(given, new Set(model.stateDict().keys()));
  // old key spellings (torchvision < 0.13: the Mask R-CNN v1 COCO file's FPN, RPN head and mask head)
  given = new Map(given);
  model.upgradeKeys(given as Map<string, unknown>);
  const own = model.stateDict();
  const report: LoadReport = { source: name, loaded: [], skipped: [], missing: [], adapted: [] };
  const children = new Set([...own.keys()].map((k) => k.split('.')[0]));
  const toLoad = new Map<string, RawTensor | Tensor>();
  const made: Tensor[] = [];
  try {
    for (const [key, value] of given) {
      const target = own.get(key);
      if (opts.ignore?.test(key)) {
        report.skipped.push({ key, reason: opts.ignore.reason });
      } else if (target === undefined) {
        report.skipped.push({ key, reason: notInModel(key, children) });
      } else if (sameShape(value.shape, target.shape)) {
        toLoad.set(key, value);
      } else if (isInputChannelChange(value.shape, target.shape)) {
        const adapted = adaptInputChannels(value, target.shape[1]);
        made.push(adapted);
        toLoad.set(key, adapted);
        report.adapted.push({ key, reason: `${value.shape[1]} input channels in the file, ${target.shape[1]} here: ${target.shape[1] === 1 ? 'summed' : `repeated and scaled by ${value.shape[1]}/${target.shape[1]}`}` });
      } else {
        const classes = value.shape[0] !== target.shape[0] && sameShape(value.shape.slice(1), target.shape.slice(1));
        report.skipped.push({ key, reason: `shape ${shape(value.shape)} in the file, ${shape(target.shape)} here${classes ? ' (another number of classes: this layer keeps its new initialisation)' : ''}` });
      }
    }
    // its missing keys leave out what takes a default (num_batches_tracked, absent from old files);
    // a key skipped for its shape is reported once, as skipped
    const skipped = new Set(report.skipped.map((s) => s.key));
    report.missing = model.loadStateDict(toLoad, { strict: false }).missingKeys.filter((k) => !skipped.has(k));
  } finally {
    for (const t of made) t.dispose();
  }
  report.loaded = [...toLoad.keys()];
  return report;
}

// A whole head the model lacks (an aux head built without auxLoss) is named as such.
function notInModel(key: string, children: Set<string>): string {
  const top = key.split('.')[0];
  if (!key.includes('.') || children.has(top)) return 'not in this model';
  return `not in this model (it has no '${top}'${top === 'aux_classifier' ? '; build it with auxLoss: true to keep that head' : ''})`;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

const isInputChannelChange = (file: number[], here: number[]): boolean =>
  file.length === 4 && here.length === 4 && file[0] === here[0] && file[2] === here[2] && file[3] === here[3] && file[1] !== here[1];

// smp's patch_first_conv: one channel gets the sum of the filters; more channels get them
// repeated cyclically and scaled so the response to a constant input keeps its size.
function adaptInputChannels(value: RawTensor | Tensor, channels: number): Tensor {
  return tidy(() => {
    const w = value instanceof Tensor ? value : fromRaw(value);
    const fileChannels = w.shape[1];
    if (channels === 1) return w.sum(1, true);
    const reps = Math.ceil(channels / fileChannels);
    return w.repeat([1, reps, 1, 1]).narrow(1, 0, channels).mul(fileChannels / channels).contiguous();
  });
}

// stripPrefix for a state dict given as a Map (readWeights does it for files).
function withoutPrefix<T>(given: Map<string, T>, prefix: string | undefined): Map<string, T> {
  if (prefix === undefined || prefix === '') return given;
  return new Map([...given].map(([k, v]) => [k.startsWith(prefix) ? k.slice(prefix.length) : k, v]));
}

// A whole file under an extra prefix ('module.' from DataParallel, 'model.' from Lightning).
function stripCommonPrefix<T>(given: Map<string, T>, own: Set<string>): Map<string, T> {
  const keys = [...given.keys()];
  if (keys.length === 0 || keys.some((k) => own.has(k))) return given;
  const first = keys[0].split('.')[0] + '.';
  if (!keys.every((k) => k.startsWith(first))) return given;
  return new Map(keys.map((k) => [k.slice(first.length), given.get(k)!]));
}
