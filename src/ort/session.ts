// An exported model run by ONNX Runtime (onnxruntime-node, CPU) as a Forward: the same normalised
// batch in and logits out as a libtorch Module, so prediction and evaluation share everything else
// (src/predict). The .onnx file's metadata gives the class names, palette and normalisation.
//
//   const onnx = await openOnnx('model.onnx', { threads: 2 });
//   const probs = await predictProbabilities(onnx.forward, x, { flip: true });
//   await onnx.release();
import { readFileSync } from 'node:fs';
import type * as Ort from 'onnxruntime-node';
import { tensor, type Tensor } from '../torch/index.js';
import type { Forward } from '../predict/forward.js';
import { onnxMetadataProps, segkitMetadata, type SegkitOnnxMetadata } from './metadata.js';

export interface OnnxModel {
  /** Logits (N, K, H, W) for a normalised float32 batch (N, C, H, W). */
  forward: Forward;
  /** The segkit.* metadata (classes, palette, normalisation), each part absent when missing. */
  metadata: SegkitOnnxMetadata;
  /** Every metadata_props entry, as stored. */
  props: Record<string, string>;
  /** Input channels and output classes where the graph fixes them. */
  inputChannels?: number;
  outputChannels?: number;
  /** The file's bytes (kept for hashing and re-use; not copied). */
  bytes: Uint8Array;
  source: string;
  release(): Promise<void>;
}

export interface OpenOnnxOptions {
  /** Intra-op threads (default: ONNX Runtime's, the physical cores). */
  threads?: number;
}

/** onnxruntime-node, loaded on first use, with a message that says how to get it when it is missing. */
export async function loadOrt(): Promise<typeof Ort> {
  try {
    return await import('onnxruntime-node');
  } catch (e) {
    throw new Error(`the ONNX Runtime backend needs the npm package onnxruntime-node (npm install onnxruntime-node): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Opens an .onnx file (or its bytes) for inference on the CPU. */
export async function openOnnx(file: string | { bytes: Uint8Array; source: string }, opts: OpenOnnxOptions = {}): Promise<OnnxModel> {
  const source = typeof file === 'string' ? file : file.source;
  let bytes: Uint8Array;
  try {
    bytes = typeof file === 'string' ? readFileSync(file) : file.bytes;
  } catch (e) {
    throw new Error(`${source}: cannot read the ONNX model (${(e as NodeJS.ErrnoException).code ?? String(e)}); segkit export writes one`);
  }
  const props = onnxMetadataProps(bytes, source);
  const metadata = segkitMetadata(props, source);
  const ort = await loadOrt();
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    });
  } catch (e) {
    throw new Error(`${source}: ONNX Runtime cannot load it: ${e instanceof Error ? e.message : String(e)}`);
  }
  const inputName = session.inputNames[0]!;
  const outputName = ['out', 'logits'].find((n) => session.outputNames.includes(n)) ?? session.outputNames[0]!;
  const dims = (m: readonly Ort.InferenceSession.ValueMetadata[], name: string): Array<number | string> | undefined => {
    const v = m.find((x) => x.name === name);
    return v && v.isTensor ? [...v.shape] : undefined;
  };
  const inDims = dims(session.inputMetadata, inputName);
  const outDims = dims(session.outputMetadata, outputName);
  const fixed = (d: number | string | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);
  const [fixedH, fixedW] = [fixed(inDims?.[2]), fixed(inDims?.[3])];

  const forward: Forward = async (x: Tensor) => {
    const [, , h, w] = x.shape;
    if ((fixedH !== undefined && fixedH !== h) || (fixedW !== undefined && fixedW !== w)) {
      throw new Error(`${source} takes ${fixedH ?? 'any'}x${fixedW ?? 'any'} inputs (its height and width are fixed), got ${h}x${w}; export it with dynamic height and width, or give --window ${fixedH ?? fixedW}`);
    }
    const c = x.isContiguous() && x.dtype === 'float32' ? x : x.to({ dtype: 'float32', memoryFormat: 'contiguous', copy: true });
    try {
      // the tensor's own memory (no copy); it stays alive until the run is over
      const input = new ort.Tensor('float32', c.dataView() as Float32Array, [...c.shape]);
      const out = await session.run({ [inputName]: input }, [outputName]);
      const y = out[outputName]!;
      try {
        if (y.type !== 'float32') throw new Error(`${source}: output ${outputName} is ${y.type}; segkit reads float32 logits`);
        // the logits stay in ONNX Runtime's output array (no copy): the tensor holds a
        // reference to it, and dispose() below only drops the ort.Tensor's own
        const data = y.data as Float32Array;
        return data.byteOffset % 4 === 0 ? tensor(data, { shape: [...y.dims], copy: false }) : tensor(data, { shape: [...y.dims] });
      } finally {
        for (const t of Object.values(out)) t.dispose();
      }
    } finally {
      if (c !== x) c.dispose();
    }
  };
  return {
    forward,
    metadata,
    props,
    inputChannels: fixed(inDims?.[1]),
    outputChannels: fixed(outDims?.[1]),
    bytes,
    source,
    release: () => session.release(),
  };
}
