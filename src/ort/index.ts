// The ONNX Runtime backend: exported models run by onnxruntime-node as forward functions that
// segkit's prediction takes, their metadata, and the libtorch-or-ONNX-Runtime chooser.
export { openOnnx, loadOrt, type OnnxModel, type OpenOnnxOptions } from './session.js';
export { onnxMetadataProps, segkitMetadata, type SegkitOnnxMetadata } from './metadata.js';
export { autoForward, BACKENDS, type Backend, type BackendChoice, type AutoBackendOptions } from './choose.js';
