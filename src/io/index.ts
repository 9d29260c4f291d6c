// Files in and out: safetensors, PyTorch checkpoints (a restricted reader that never runs code;
// unknown Python classes come back as inert PyRecords), module weights, images, downloads into
// PyTorch's cache.
export * from './raw.js';
export * from './safetensors.js';
export * from './pth.js';
export * from './checkpoint.js';
export * from './weights.js';
export * from './image.js';
export * from './download.js';
export { isTuple, PyRecord, PyRef } from './pickle.js';
export { EventWriter, readScalars, type ScalarEvent } from './tensorboard.js';
