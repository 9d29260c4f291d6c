// The metadata an .onnx file carries for its consumers: ModelProto's metadata_props (field 14,
// key/value strings). segkit export stores the class names, palette and normalisation there as
// JSON under segkit.* keys, so ONNX Runtime predicts without a side file. Only the top level of
// the protobuf is walked (protobufjs's Reader); the graph's bytes are skipped, not decoded.
import protobuf from 'protobufjs';
import type { Palette } from '../data/overlay.js';
import type { NormalizeParams } from '../data/transforms/normalize.js';

const METADATA_PROPS = 14; // ModelProto.metadata_props: repeated StringStringEntryProto { key = 1; value = 2 }

/** Every metadata_props entry of a serialised ONNX ModelProto. */
export function onnxMetadataProps(bytes: Uint8Array, source = 'the ONNX model'): Record<string, string> {
  const props: Record<string, string> = {};
  try {
    const r = protobuf.Reader.create(bytes);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 !== METADATA_PROPS || (tag & 7) !== 2) {
        r.skipType(tag & 7);
        continue;
      }
      const end = r.uint32() + r.pos;
      let key = '';
      let value = '';
      while (r.pos < end) {
        const t = r.uint32();
        if (t >>> 3 === 1 && (t & 7) === 2) key = r.string();
        else if (t >>> 3 === 2 && (t & 7) === 2) value = r.string();
        else r.skipType(t & 7);
      }
      props[key] = value;
    }
  } catch (e) {
    throw new Error(`${source}: not a readable ONNX model (${e instanceof Error ? e.message : String(e)})`);
  }
  return props;
}

/** What segkit export stores for prediction: each part absent when the file lacks it. */
export interface SegkitOnnxMetadata {
  model?: string;
  classes?: string[];
  palette?: Palette;
  normalize?: NormalizeParams;
}

/** The segkit.* entries, parsed; a value that is not the JSON expected is an error naming the key. */
export function segkitMetadata(props: Record<string, string>, source = 'the ONNX model'): SegkitOnnxMetadata {
  const json = <T>(key: string, valid: (v: unknown) => boolean, expected: string): T | undefined => {
    const raw = props[key];
    if (raw === undefined) return undefined;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      v = undefined;
    }
    if (!valid(v)) throw new Error(`${source}: metadata ${key} should be ${expected}, got ${raw.slice(0, 80)}`);
    return v as T;
  };
  const numbers = (v: unknown, n?: number): boolean => Array.isArray(v) && (n === undefined || v.length === n) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  return {
    model: props['segkit.model'],
    classes: json<string[]>('segkit.classes', (v) => Array.isArray(v) && v.every((c) => typeof c === 'string'), 'a JSON array of class names'),
    palette: json<Palette>('segkit.palette', (v) => Array.isArray(v) && v.every((c) => numbers(c, 3)), 'a JSON array of [r, g, b] colours'),
    normalize: json<NormalizeParams>('segkit.normalize', (v) => typeof v === 'object' && v !== null && numbers((v as NormalizeParams).mean) && numbers((v as NormalizeParams).std), 'JSON {"mean": [...], "std": [...]}'),
  };
}
