// The bridge between modules and weight files: a Module's state dict to and from safetensors,
// and from PyTorch files (.pt/.pth state dicts, checkpoints and torch.save(model) files, read
// without running any pickle code; see checkpoint.ts).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { toRaw } from '../torch/index.js';
import type { LoadStateDictResult, Module } from '../nn/module.js';
import { parseSafetensors, writeSafetensors } from './safetensors.js';
import { readCheckpoint } from './checkpoint.js';
import type { RawTensor } from './raw.js';

export type WeightsFormat = 'safetensors' | 'pth';

export interface ReadWeightsOptions {
  /** Removed from the front of every key that has it, e.g. 'module.' from DataParallel. */
  stripPrefix?: string;
  /**
   * .pth only: the top-level entry holding the state dict or the pickled model ('model',
   * 'state_dict', 'model_ema'); found automatically when unique (a references checkpoint's
   * `model_ema` is read only when named here).
   */
  key?: string;
  /** The file format; by default from the extension, else from the first bytes. */
  format?: WeightsFormat;
}

export interface LoadWeightsOptions extends ReadWeightsOptions {
  /** Default true: every missing, unexpected or wrong-shape key is an error (one Error lists them all). */
  strict?: boolean;
}

const PTH_EXTENSIONS = new Set(['.pt', '.pth', '.bin', '.ckpt', '.tar']);

function detectFormat(path: string, bytes: Uint8Array): WeightsFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.safetensors') return 'safetensors';
  if (PTH_EXTENSIONS.has(ext)) return 'pth';
  // a zip (torch.save since 1.6) or a raw pickle (legacy torch.save) start like this
  if ((bytes[0] === 0x50 && bytes[1] === 0x4b) || bytes[0] === 0x80) return 'pth';
  return 'safetensors';
}

/** The tensors of a weights file by name, as raw bytes (nothing is allocated in libtorch). */
export function readWeights(path: string, opts: ReadWeightsOptions = {}): Map<string, RawTensor> {
  const bytes = readFileSync(path);
  const format = opts.format ?? detectFormat(path, bytes);
  if (format === 'pth') return readCheckpoint(bytes, { key: opts.key, stripPrefix: opts.stripPrefix, source: path }).stateDict;
  if (opts.key !== undefined) throw new Error(`${path}: option key applies to .pth checkpoints, not safetensors files`);
  const { tensors } = parseSafetensors(bytes, path);
  const strip = opts.stripPrefix;
  if (strip === undefined) return tensors;
  const out = new Map<string, RawTensor>();
  for (const [k, t] of tensors) {
    const name = k.startsWith(strip) ? k.slice(strip.length) : k;
    if (out.has(name)) throw new Error(`${path}: two entries become ${JSON.stringify(name)} after removing the prefix ${JSON.stringify(strip)}`);
    out.set(name, t);
  }
  return out;
}

/**
 * Loads a safetensors file or a PyTorch checkpoint into `module` (in place, values converted to
 * the module's dtype and device). Errors name the file.
 */
export function loadWeights(module: Module, path: string, opts: LoadWeightsOptions = {}): LoadStateDictResult {
  const tensors = readWeights(path, opts);
  try {
    return module.loadStateDict(tensors, { strict: opts.strict });
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** A module's state dict as raw little-endian bytes (contiguous CPU copies), keyed like PyTorch. */
export function stateDictToRaw(module: Module): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [k, t] of module.stateDict()) out.set(k, toRaw(t));
  return out;
}

/**
 * Writes the module's state dict as safetensors, atomically (temporary file, then rename).
 * Metadata gets format: 'pt', as PyTorch tools expect, unless given.
 */
export function saveWeights(module: Module, path: string, metadata: Record<string, string> = {}): void {
  const ext = extname(path).toLowerCase();
  if (PTH_EXTENSIONS.has(ext)) {
    throw new Error(`${path}: segkit writes weights as safetensors only; name the file with .safetensors (PyTorch reads it with safetensors.torch.load_file)`);
  }
  writeSafetensors(path, stateDictToRaw(module), { format: 'pt', ...metadata });
}
