// segkit: image segmentation for TypeScript on libtorch.
//   import { torch, nn, optim, models, losses, data, io, metrics, detection, predict, train, onnx, ort, web } from 'segkit';
// or the layers directly: 'segkit/torch', 'segkit/nn', 'segkit/optim', 'segkit/data', ...
export * as torch from './torch/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export * as losses from './losses/index.js';
export * as data from './data/index.js';
export * as io from './io/index.js';
export * as metrics from './metrics/index.js';
export * as detection from './detection/index.js';
export * as predict from './predict/index.js';
export * as train from './train/index.js';
export * as onnx from './export/index.js';
export * as ort from './ort/index.js';
export * as web from './web/index.js';
