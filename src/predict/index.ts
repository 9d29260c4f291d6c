// Prediction: inference by sliding windows and test-time augmentation over any forward pass
// (libtorch Module or ONNX Runtime session); masks, overlays and panels for `segkit predict`.
export { PREDICT_OUTPUTS, commonRoot, expandInputs, predictFiles, type PredictFilesOptions, type PredictOutput, type PredictedImage } from './files.js';
export { forwardOf, moduleForward, type Forward } from './forward.js';
export { classIds, predictProbabilities, slidingWindowLogits, windowStarts, type InferenceOptions, type SlidingWindow } from './inference.js';
export { readDetection, selectByScore, drawDetections, writeInstanceMasks, writeCocoDetections, writeDrawnDetections, evaluateDetections, type DetectionArrays, type ImageResult, type DrawOptions } from './instances/index.js';
