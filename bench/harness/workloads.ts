// The benchmark workloads of /work/shared/BENCH.md and the runners that measure each one.
// Add a workload by appending an entry to `workloads`; every runner is a separate process that
// speaks the protocol of ./protocol.ts (one JSON line on stdout).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchOptions {
  root: string; // repository root; commands run there
  threads: number;
  reps: number;
}

export interface Command {
  cmd: string;
  args: string[];
}

/** A step a runner needs done first (export a model, generate data), skipped when up to date. */
export interface Prepare {
  label: string;
  needed: (o: BenchOptions) => boolean;
  command: (o: BenchOptions) => Command;
}

export interface RunnerSpec {
  name: string; // 'segkit', 'torch', 'torch-cl', 'ort', ...
  kind: 'segkit' | 'peer';
  /** Set while segkit has no runner for the workload: shown as a row, not run. */
  notImplemented?: string;
  /** Files (relative to the root) the runner needs; any absent gives a "missing" row. */
  requires?: string[];
  prepare?: Prepare[];
  command: (o: BenchOptions) => Command;
}

/** What the runners' JSON lines are compared on. */
export interface Metric {
  key: string; // field of the JSON line, e.g. 'images_per_s'
  label: string; // column header, e.g. 'images/s'
  higherIsBetter: boolean;
}

export interface Workload {
  name: string;
  description: string;
  /** Arithmetic per image (training: 3x the forward), for the achieved GFLOP/s column. */
  flopsPerImage?: number;
  metric?: Metric; // default images/s
  runners: RunnerSpec[];
}

export const imagesPerSecond: Metric = { key: 'images_per_s', label: 'images/s', higherIsBetter: true };

export const PYTHON = '/usr/bin/python3'; // Debian's interpreter, the one with torch 1.13
const node = (script: string, args: string[]): Command => ({ cmd: process.execPath, args: [script, ...args] });
const python = (script: string, args: string[]): Command => ({ cmd: PYTHON, args: [script, ...args] });
const common = (o: BenchOptions): string[] => ['--reps', String(o.reps), '--threads', String(o.threads)];

// Forward FLOPs per image, counted over the conv layers by bench/peers/flops.py
// (2 x multiply-adds; BatchNorm, ReLU, pooling left out).
export const UNET_256_FORWARD_FLOPS = 24_159_191_040;
export const DEEPLABV3_R50_512_FORWARD_FLOPS = 327_158_943_744;

/** True when `out` is absent or older than any of `sources` (all relative to the root). */
export function stale(root: string, out: string, sources: string[]): boolean {
  const target = join(root, out);
  if (!existsSync(target)) return true;
  const built = statSync(target).mtimeMs;
  return sources.some((s) => existsSync(join(root, s)) && statSync(join(root, s)).mtimeMs > built);
}

function onnxExport(model: 'unet' | 'deeplabv3', out: string, sources: string[]): Prepare {
  return {
    label: `export ${model} to ${out}`,
    needed: (o) => stale(o.root, out, ['bench/peers/export_onnx.py', ...sources]),
    command: () => python('bench/peers/export_onnx.py', ['--model', model, '--out', out]),
  };
}

function unet(mode: 'train' | 'infer'): Workload {
  const shape = ['--mode', mode, '--batch', '8', '--size', '256'];
  const runners: RunnerSpec[] = [
    {
      name: 'segkit',
      kind: 'segkit',
      requires: ['dist/bench/segkit/unet.js'],
      command: (o) => node('dist/bench/segkit/unet.js', [...shape, ...common(o)]),
    },
    { name: 'torch', kind: 'peer', command: (o) => python('bench/peers/torch_unet.py', [...shape, '--layout', 'default', ...common(o)]) },
    { name: 'torch-cl', kind: 'peer', command: (o) => python('bench/peers/torch_unet.py', [...shape, '--layout', 'cl', ...common(o)]) },
  ];
  if (mode === 'infer') {
    const onnx = '.cache/bench/unet.onnx';
    runners.push({
      name: 'ort',
      kind: 'peer',
      requires: ['dist/bench/harness/ort_unet.js'],
      prepare: [onnxExport('unet', onnx, ['bench/peers/unet.py'])],
      command: (o) => node('dist/bench/harness/ort_unet.js', ['--onnx', onnx, '--workload', 'unet-infer', '--batch', '8', '--size', '256', ...common(o)]),
    });
  }
  return {
    name: `unet-${mode}`,
    description:
      mode === 'train'
        ? 'UNet 32-512 (3 in, 4 classes), batch 8, 3x256x256: forward, cross-entropy, backward, AdamW'
        : 'UNet 32-512 (3 in, 4 classes), batch 8, 3x256x256, eval mode without autograd',
    flopsPerImage: (mode === 'train' ? 3 : 1) * UNET_256_FORWARD_FLOPS,
    runners,
  };
}

function deeplab(mode: 'train' | 'infer'): Workload {
  const batch = mode === 'train' ? '2' : '1';
  const shape = ['--mode', mode, '--batch', batch, '--size', '512'];
  const runners: RunnerSpec[] = [
    {
      name: 'segkit',
      kind: 'segkit',
      requires: ['dist/bench/segkit/deeplab.js'],
      command: (o) => node('dist/bench/segkit/deeplab.js', [...shape, ...common(o)]),
    },
    { name: 'torch', kind: 'peer', command: (o) => python('bench/peers/torch_deeplab.py', [...shape, '--layout', 'default', ...common(o)]) },
    { name: 'torch-cl', kind: 'peer', command: (o) => python('bench/peers/torch_deeplab.py', [...shape, '--layout', 'cl', ...common(o)]) },
  ];
  if (mode === 'infer') {
    const onnx = '.cache/bench/deeplabv3.onnx';
    runners.push({
      name: 'ort',
      kind: 'peer',
      requires: ['dist/bench/harness/ort_unet.js'],
      prepare: [onnxExport('deeplabv3', onnx, ['bench/peers/torch_deeplab.py'])],
      command: (o) =>
        node('dist/bench/harness/ort_unet.js', ['--onnx', onnx, '--workload', 'deeplabv3-infer', '--batch', '1', '--size', '512', ...common(o)]),
    });
  }
  return {
    name: `deeplabv3-${mode}`,
    description:
      mode === 'train'
        ? 'DeepLabv3-ResNet50 (OS 8, 21 classes, no aux), batch 2, 3x512x512: forward, cross-entropy, backward, SGD momentum'
        : 'DeepLabv3-ResNet50 (OS 8, 21 classes, no aux), batch 1, 3x512x512, eval mode',
    flopsPerImage: (mode === 'train' ? 3 : 1) * DEEPLABV3_R50_512_FORWARD_FLOPS,
    runners,
  };
}

/**
 * The ONNX Runtime backend (`--backend ort`) against onnxruntime-node alone, on the same exported
 * file and input: what segkit adds around the session (tensor in, logits tensor out).
 */
function ortBackend(model: 'unet' | 'deeplabv3'): Workload {
  const onnx = `.cache/bench/${model}.onnx`;
  const name = `${model}-infer-ort`;
  const shape = model === 'unet' ? ['--batch', '8', '--size', '256'] : ['--batch', '1', '--size', '512'];
  const prepare = [onnxExport(model, onnx, [model === 'unet' ? 'bench/peers/unet.py' : 'bench/peers/torch_deeplab.py'])];
  return {
    name,
    description: `${model === 'unet' ? 'UNet 32-512, batch 8, 3x256x256' : 'DeepLabv3-ResNet50 (OS 8, 21 classes), batch 1, 3x512x512'}, exported by torch.onnx: segkit's ONNX Runtime backend vs onnxruntime-node alone`,
    flopsPerImage: model === 'unet' ? UNET_256_FORWARD_FLOPS : DEEPLABV3_R50_512_FORWARD_FLOPS,
    runners: [
      { name: 'segkit', kind: 'segkit', requires: ['dist/bench/segkit/ort.js'], prepare, command: (o) => node('dist/bench/segkit/ort.js', ['--onnx', onnx, '--workload', name, ...shape, ...common(o)]) },
      { name: 'ort', kind: 'peer', requires: ['dist/bench/harness/ort_unet.js'], prepare, command: (o) => node('dist/bench/harness/ort_unet.js', ['--onnx', onnx, '--workload', name, ...shape, ...common(o)]) },
    ],
  };
}

const LOADER_DATA = '.cache/bench/loader-data';
const makeLoaderData: Prepare = {
  label: `generate loader data in ${LOADER_DATA}`,
  needed: (o) => !existsSync(join(o.root, LOADER_DATA)),
  command: () => node('bench/loader/make_data.mjs', ['--out', LOADER_DATA]),
};
const loaderArgs = (o: BenchOptions): string[] => ['--workers', String(o.threads), '--data', LOADER_DATA, ...common(o)];

const loader: Workload = {
  name: 'loader',
  description: '256 JPEG 640x480 + PNG masks: decode, scale 0.5-2.0, crop 512 (pad 255), flip, normalise, batch 8; workers = threads',
  runners: [
    {
      name: 'segkit',
      kind: 'segkit',
      requires: ['dist/bench/loader/segkit_loader.js', 'bench/loader/make_data.mjs'],
      prepare: [makeLoaderData],
      command: (o) => node('dist/bench/loader/segkit_loader.js', loaderArgs(o)),
    },
    {
      name: 'torch',
      kind: 'peer',
      requires: ['bench/loader/torch_loader.py', 'bench/loader/make_data.mjs'],
      prepare: [makeLoaderData],
      command: (o) => python('bench/loader/torch_loader.py', loaderArgs(o)),
    },
  ],
};

// Cityscapes-sized: 12 updates of 2 images 1024x2048 = 50.3 million pixels per step.
const metricsShape = ['--batch', '2', '--size', '1024', '--width', '2048', '--updates', '12', '--classes', '19'];
const metrics: Workload = {
  name: 'metrics',
  description: 'confusion matrix, 19 classes, ignore 255: 12 updates of 2 x 1024x2048 int64 predictions and targets (50.3 Mpixel), then the scores',
  metric: { key: 'mpixels_per_s', label: 'Mpixel/s', higherIsBetter: true },
  runners: [
    {
      name: 'segkit',
      kind: 'segkit',
      requires: ['dist/bench/segkit/metrics.js'],
      command: (o) => node('dist/bench/segkit/metrics.js', [...metricsShape, ...common(o)]),
    },
    { name: 'torch', kind: 'peer', command: (o) => python('bench/peers/torch_metrics.py', ['--variant', 'references', ...metricsShape, ...common(o)]) },
    { name: 'torch-unmasked', kind: 'peer', command: (o) => python('bench/peers/torch_metrics.py', ['--variant', 'unmasked', ...metricsShape, ...common(o)]) },
  ],
};

// Workload 7: one epoch of the demo config end to end, on the bundled shapes dataset laid out in
// its split folders (bench/epoch/make_data.mjs), so both sides read the same files.
const EPOCH_DATA = '.cache/bench/epoch-data';
const EPOCH_CONFIG = 'bench/epoch/shapes-unet.yaml';
const makeEpochData: Prepare = {
  label: `generate the shapes dataset of ${EPOCH_CONFIG} in ${EPOCH_DATA}`,
  needed: (o) => stale(o.root, join(EPOCH_DATA, 'labelmap.json'), ['bench/epoch/make_data.mjs', EPOCH_CONFIG]),
  command: () => node('bench/epoch/make_data.mjs', ['--out', EPOCH_DATA, '--config', EPOCH_CONFIG]),
};
const epochArgs = (o: BenchOptions): string[] => ['--data', EPOCH_DATA, '--config', EPOCH_CONFIG, ...common(o)];
const epoch: Workload = {
  name: 'epoch',
  description: `one training epoch of ${EPOCH_CONFIG} end to end (open the data, build, train with the loader, validate, save), bundled shapes 240 x 96x96`,
  metric: { key: 'seconds', label: 's/epoch', higherIsBetter: false },
  runners: [
    {
      name: 'segkit',
      kind: 'segkit',
      requires: ['dist/bench/segkit/epoch.js', 'bench/epoch/make_data.mjs'],
      prepare: [makeEpochData],
      command: (o) => node('dist/bench/segkit/epoch.js', epochArgs(o)),
    },
    { name: 'torch', kind: 'peer', prepare: [makeEpochData], command: (o) => python('bench/peers/torch_epoch.py', [...epochArgs(o), '--layout', 'default']) },
    { name: 'torch-cl', kind: 'peer', prepare: [makeEpochData], command: (o) => python('bench/peers/torch_epoch.py', [...epochArgs(o), '--layout', 'cl']) },
  ],
};

// Workloads 8 and 9: Mask R-CNN R50-FPN v1 on 800x800 images. Both sides run the same seeded
// random weights (the peer writes them once) on the same seeded inputs (make_inputs in the peer,
// makeInputs in segkit's runner), box score threshold 0 in eval mode (see the peer's docstring).
const MASKRCNN_WEIGHTS = '.cache/bench/maskrcnn-random.pth';
const exportMaskRcnnWeights: Prepare = {
  label: `write the seeded random Mask R-CNN weights to ${MASKRCNN_WEIGHTS}`,
  needed: (o) => stale(o.root, MASKRCNN_WEIGHTS, ['bench/peers/torch_maskrcnn.py']),
  command: () => python('bench/peers/torch_maskrcnn.py', ['--export-weights', MASKRCNN_WEIGHTS]),
};

function maskrcnn(mode: 'train' | 'infer'): Workload {
  const shape = ['--mode', mode, '--batch', mode === 'train' ? '2' : '1', '--size', '800'];
  const peer = (layout: 'default' | 'cl') => (o: BenchOptions) => python('bench/peers/torch_maskrcnn.py', [...shape, '--layout', layout, ...common(o)]);
  return {
    name: `maskrcnn-${mode}`,
    description:
      mode === 'train'
        ? 'Mask R-CNN R50-FPN v1 (91 classes), batch 2, 3x800x800 with 3-10 boxes and masks each: losses, backward, SGD momentum'
        : 'Mask R-CNN R50-FPN v1 (91 classes), batch 1, 3x800x800, eval mode, box score threshold 0 (100 detections with masks)',
    runners: [
      {
        name: 'segkit',
        kind: 'segkit',
        requires: ['dist/bench/segkit/maskrcnn.js'],
        prepare: [exportMaskRcnnWeights],
        command: (o) => node('dist/bench/segkit/maskrcnn.js', [...shape, '--weights', MASKRCNN_WEIGHTS, ...common(o)]),
      },
      { name: 'torch', kind: 'peer', command: peer('default') },
      { name: 'torch-cl', kind: 'peer', command: peer('cl') },
    ],
  };
}

export const workloads: Workload[] = [
  unet('train'), unet('infer'), deeplab('infer'), deeplab('train'), loader, metrics, epoch, ortBackend('unet'), ortBackend('deeplabv3'),
  maskrcnn('infer'), maskrcnn('train'),
];
