// Instance-segmentation output: a detector's Detection as arrays, drawn on images, written as
// per-instance mask PNGs and COCO results, and evaluated on a COCO dataset.
export { readDetection, selectByScore, type DetectionArrays, type ReadDetectionOptions } from './detections.js';
export { drawDetections, paintDetections, classNameOf, type DrawOptions } from './draw.js';
export { writeInstanceMasks, writeCocoDetections, writeCocoDetectionFile, writeDrawnDetections, cocoResultsOf, cocoDetectionsOf, encodeDetections, type ImageResult, type EncodedDetections } from './files.js';
export { predictInstanceFiles, INSTANCE_OUTPUTS, type InstanceOutput, type PredictInstancesOptions, type PredictedInstances } from './predict-files.js';
export { evaluateInstances, classAp, type InstanceEvaluation, type InstanceEvaluationOptions, type ClassAp } from './dataset.js';
export { evaluateDetections, type EvaluateDetectionsOptions } from './evaluate.js';
