// ONNX export of segkit models: record one forward pass through the op dispatcher, map each ATen
// op to ONNX (opset 17), with dynamic batch, height and width.
export { exportOnnx, writeOnnx, readOnnxMetadata, EXPORT_FORMAT, type ExportOptions } from './export.js';
export { recordForward, type Recording, type RecordedOp, type RecordedConstant } from './record.js';
export { OP_MAPPINGS, type OpMapping, type OpContext } from './onnx-ops.js';
export { decodeModel } from './onnx-proto.js';
