// Files in and out: safetensors, PyTorch checkpoints (a restricted reader that never runs code),
// module weights, images.
export * from './raw.js';
export * from './safetensors.js';
export * from './pth.js';
export * from './weights.js';
export * from './image.js';
export { isTuple } from './pickle.js';
