// The data layer: sources, label maps, datasets, splits, statistics, augmentations, the loader,
// the dataset doctor, previews and the bundled shapes dataset.
export * from './types.js';
export * from './dataset.js';
export * from './labelmap.js';
export * from './sources/index.js';
export * from './splits.js';
export * from './stats.js';
export * from './transforms/index.js';
export * from './loader.js';
export * from './to-tensors.js';
export * from './overlay.js';
export * from './preview.js';
export * from './bundled.js';
export * from './doctor/index.js';
