// COCO detection evaluation equal to pycocotools' COCOeval (bbox and segm), and COCO results
// files that other COCO tools read.
export { evaluateCoco, defaultParams, type CocoEvalOptions, type CocoEvalParams, type CocoEvalResult } from './evaluate.js';
export { COCO_STAT_NAMES, formatCocoStats, type CocoStatName, type CocoStats } from './summary.js';
export { boxIou, maskIou, rleToBbox, rleUnion, segmentationToRle } from './masks.js';
export { encodeMask, readCocoGroundTruth, readCocoResults, toCocoResults, writeCocoResults, type ImageDetections } from './results.js';
export type { CocoAnnotation, CocoCategory, CocoGroundTruth, CocoImage, CocoResult, CocoRle, CocoSegmentation, IouType } from './types.js';
