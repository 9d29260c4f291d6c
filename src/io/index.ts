// Files in and out: safetensors, PyTorch checkpoints (a restricted reader that never runs code),
// module weights, images, downloads into PyTorch's cache.
export * from './raw.js';
export * from './safetensors.js';
export * from './pth.js';
export * from './weights.js';
export * from './image.js';
export * from './download.js';
export { isTuple } from './pickle.js';
