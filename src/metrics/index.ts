// Segmentation metrics: a streaming confusion matrix (counted in libtorch, kept as float64 in
// JS), the scores computed from it at dataset level and per image, and a per-class table.
export { ConfusionMatrix, type ConfusionMatrixOptions, type ConfusionMatrixJSON, type SegmentationMetrics } from './confusion.js';
export { classScores, summaryScores, nanMean, type ClassScores, type SummaryScores } from './scores.js';
export type { PerImageScores, PerImageSums } from './per-image.js';
export { formatClassTable, type ClassTableOptions } from './table.js';
export * as coco from './coco/index.js';
