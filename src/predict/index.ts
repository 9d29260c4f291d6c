// Prediction: inference by sliding windows and test-time augmentation over any forward pass
// (libtorch Module or ONNX Runtime session); masks, overlays and panels for `segkit predict`.
export { PREDICT_OUTPUTS, commonRoot, expandInputs, predictFiles, type PredictFilesOptions, type PredictOutput, type PredictedImage } from './files.js';
export { forwardOf, moduleForward, type Forward } from './forward.js';
export { classIds, predictProbabilities, slidingWindowLogits, windowStarts, type InferenceOptions, type SlidingWindow } from './inference.js';
export { readDetection, selectByScore, drawDetections, writeInstanceMasks, writeCocoDetections, writeCocoDetectionFile, writeDrawnDetections, evaluateDetections, predictInstanceFiles, evaluateInstances, INSTANCE_OUTPUTS, type DetectionArrays, type ImageResult, type DrawOptions, type InstanceEvaluation, type PredictInstancesOptions } from './instances/index.js';
