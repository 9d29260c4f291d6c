// The ONNX file format: a ModelProto protobuf. The messages below are the part of onnx/onnx.proto
// (ONNX 1.12, proto2) that an inference graph needs, field numbers and types as there; protobufjs
// does the encoding and decoding. Builders for nodes, attributes and tensors keep the exporter's
// code short.
import protobuf from 'protobufjs';

const root = protobuf.parse(`
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSOR = 11; SPARSE_TENSORS = 12; TYPE_PROTO = 13; TYPE_PROTOS = 14; }
  optional string name = 1;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; optional string doc_string = 3; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } optional string denotation = 3; }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
  optional string denotation = 6;
}
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
`, { keepCase: true }).root;

const ModelProto = root.lookupType('onnx.ModelProto');

/** TensorProto.DataType codes of the dtypes an exported graph uses. */
export const DATA_TYPE: Record<string, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, bfloat16: 16 };

export interface Node {
  op_type: string;
  input: string[];
  output: string[];
  name?: string;
  attribute?: Attribute[];
}

export interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
}

export interface TensorProto {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

export interface ValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } } };
}

export interface Model {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  producer_version: string;
  doc_string?: string;
  graph: { name: string; node: Node[]; initializer: TensorProto[]; input: ValueInfo[]; output: ValueInfo[] };
  metadata_props: { key: string; value: string }[];
}

/** An attribute from a plain value: an integer, a float (`{ f }`), a string, or a list of integers. */
export function attr(name: string, v: number | { f: number } | string | number[] | { floats: number[] }): Attribute {
  if (typeof v === 'number') return { name, type: 2, i: v };
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if ('f' in v) return { name, type: 1, f: v.f };
  return { name, type: 6, floats: v.floats };
}

/** A tensor whose bytes are `data` (little-endian, as on every platform Node runs on). */
export function tensorProto(name: string, dtype: string, dims: number[], data: ArrayBufferView): TensorProto {
  const dataType = DATA_TYPE[dtype];
  if (dataType === undefined) throw new Error(`export: dtype ${dtype} has no ONNX type here (tensor '${name}')`);
  return { name, dims, data_type: dataType, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A tensor-typed graph input or output; a string dim is symbolic (its name), a number fixed. */
export function valueInfo(name: string, dtype: string, dims: (number | string)[]): ValueInfo {
  return {
    name,
    type: { tensor_type: { elem_type: DATA_TYPE[dtype], shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } } },
  };
}

export function encodeModel(model: Model): Uint8Array {
  const err = ModelProto.verify(model);
  if (err) throw new Error(`export: internal error, the ONNX model does not fit its schema: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** Reads an ONNX file's ModelProto back (plain object, int64 as numbers, bytes as Uint8Array). */
export function decodeModel(bytes: Uint8Array): Model {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Uint8Array as any, defaults: false, arrays: true }) as Model;
}
