// Checkpoints: the state dict inside a torch.save file, and the file's other entries as plain values.
//
// The layouts PyTorch code writes, all read without running any of the file's code:
//  - a state dict itself: torch.save(model.state_dict(), path);
//  - a dict holding one beside other entries, as torchvision's reference scripts write
//    ({model, optimizer, lr_scheduler, epoch, args, scaler?, model_ema?}; `args` is an
//    argparse.Namespace) or {state_dict, epoch}, {model, ema}, ...: the one entry that is a dict
//    of tensors (or a pickled model) is taken, else the caller names it with `key`. `model_ema`,
//    the references' averaged copy, is taken only when asked for;
//  - a whole pickled model, torch.save(model), alone or under a key: its state dict is read
//    from the inert module records (pickled-module.ts), with the keys state_dict() gives.

import { readTorchFile, TorchDtype } from './pth.js';
import { type RawTensor, isRawTensor } from './raw.js';
import { PyRecord, isTuple } from './pickle.js';
import { isModuleRecord, moduleStateDict, unreadableTensor } from './pickled-module.js';

export interface StateDictOptions {
  /** Top-level key holding the state dict, e.g. 'model_ema' or 'ema'. Found automatically when unique. */
  key?: string;
  /** Removed from the front of every name that has it, e.g. 'module.' from DataParallel. */
  stripPrefix?: string;
  /** Names the input in errors when it is bytes (default '<buffer>'; a path names itself). */
  source?: string;
}

export interface Checkpoint {
  stateDict: Map<string, RawTensor>;
  /**
   * Everything else, as plain JS values (see toPlain): the other top-level entries (epoch,
   * optimizer, lr_scheduler, args as an object of the Namespace's fields, ...) and the
   * non-tensor entries of the state dict.
   */
  extras: Record<string, unknown>;
  /** The top-level key the state dict came from; null when the file is the state dict (or the model) itself. */
  key: string | null;
  /** The class of the pickled model the state dict was read from ('torch.nn.modules.container.Sequential'); null for a dict of tensors. */
  moduleClass: string | null;
}

/** torchvision's reference scripts save an EMA copy of the model under this key beside `model`. */
const EMA_KEY = 'model_ema';

/**
 * Reads a state dict: a plain (Ordered)dict of tensors, one nested in a checkpoint such as
 * {model: sd, epoch: 3, optimizer: ...}, or a whole pickled model. Picks the nested dict of
 * tensors when there is exactly one, else asks for `key`.
 */
export function readCheckpoint(input: Uint8Array | string, options: StateDictOptions = {}): Checkpoint {
  const source = options.source ?? (typeof input === 'string' ? input : '<buffer>');
  const root = readTorchFile(input, source);
  const { sd, key, moduleClass } = chooseStateDict(root, source, options.key);

  const stateDict = new Map<string, RawTensor>();
  const extras: Record<string, unknown> = {};
  const strip = options.stripPrefix;
  for (const [k, v] of sd) {
    const unreadable = unreadableTensor(v);
    if (unreadable !== undefined) throw new Error(`${source}: state-dict entry ${JSON.stringify(k)} is ${unreadable}`);
    if (!isRawTensor(v) || typeof k !== 'string') {
      setEntry(extras, String(k), toPlain(v));
      continue;
    }
    const name = strip !== undefined && k.startsWith(strip) ? k.slice(strip.length) : k;
    if (stateDict.has(name)) throw new Error(`${source}: two entries become ${JSON.stringify(name)} after removing the prefix ${JSON.stringify(strip)}`);
    stateDict.set(name, v);
  }
  if (key !== null && root instanceof Map) {
    for (const [k, v] of root) if (k !== key) setEntry(extras, String(k), toPlain(v));
  }
  return { stateDict, extras, key, moduleClass };
}

/** Like readCheckpoint, returning only the tensors. */
export function readStateDict(input: Uint8Array | string, options: StateDictOptions = {}): Map<string, RawTensor> {
  return readCheckpoint(input, options).stateDict;
}

interface Choice {
  sd: Map<unknown, unknown>;
  key: string | null;
  moduleClass: string | null;
}

function chooseStateDict(root: unknown, source: string, key: string | undefined): Choice {
  if (isModuleRecord(root)) {
    if (key !== undefined) throw new Error(`${source}: holds a whole pickled model (${root.className}), not a dict with keys; leave out key ${JSON.stringify(key)}`);
    return fromModel(root, source, null);
  }
  if (!(root instanceof Map)) throw new Error(`${source}: holds ${kind(root)}, not a dict of tensors (a state dict) or a pickled model`);
  const keys = [...root.keys()].map((k) => JSON.stringify(k)).join(', ');
  if (key !== undefined) {
    if (!root.has(key)) throw new Error(`${source}: no top-level key ${JSON.stringify(key)}; the keys are ${keys}`);
    const value = root.get(key);
    if (isModuleRecord(value)) return fromModel(value, source, key);
    if (!isTensorDict(value)) throw new Error(`${source}: ${JSON.stringify(key)} holds ${kind(value)}, not a dict of tensors or a pickled model`);
    return { sd: value, key, moduleClass: null };
  }
  if ([...root.values()].some(isRawTensor)) return { sd: root, key: null, moduleClass: null };
  const found = [...root].filter(([k, v]) => typeof k === 'string' && (isTensorDict(v) || isModuleRecord(v))) as [string, unknown][];
  const candidates = found.filter(([k]) => k !== EMA_KEY);
  if (candidates.length === 1) {
    const [k, v] = candidates[0];
    return isModuleRecord(v) ? fromModel(v, source, k) : { sd: v as Map<unknown, unknown>, key: k, moduleClass: null };
  }
  if (candidates.length === 0 && found.length > 0) {
    throw new Error(`${source}: the only weights are the averaged copy ${JSON.stringify(EMA_KEY)}; read them with { key: ${JSON.stringify(EMA_KEY)} }`);
  }
  if (candidates.length === 0) throw new Error(`${source}: no dict of tensors found; the top-level keys are ${keys}`);
  const names = candidates.map(([k]) => JSON.stringify(k)).join(', ');
  throw new Error(`${source}: several dicts of tensors (${names}); choose one with { key: ${JSON.stringify(candidates[0][0])} }`);
}

function fromModel(model: PyRecord, source: string, key: string | null): Choice {
  return { sd: moduleStateDict(model, source), key, moduleClass: model.className };
}

function isTensorDict(value: unknown): value is Map<unknown, unknown> {
  return value instanceof Map && [...value.values()].some(isRawTensor);
}

function kind(value: unknown): string {
  if (value === null) return 'None';
  if (isRawTensor(value)) return 'a tensor';
  if (value instanceof PyRecord) return `a ${value.className} object`;
  if (Array.isArray(value)) return isTuple(value) ? 'a tuple' : 'a list';
  if (value instanceof Map) return 'a dict';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Records whose attributes are all they hold: they become plain objects of their fields. */
const NAMESPACES = new Set(['argparse.Namespace', 'types.SimpleNamespace']);

/**
 * Unpickled values as plain JS: dicts with string or number keys become objects (other dicts stay
 * Maps), sets and tuples become arrays, torch dtypes become strings like 'torch.float16', an
 * argparse.Namespace or SimpleNamespace becomes an object of its fields. Tensors, bytes,
 * numbers, bigints, strings and other records (PyRecord, PyRef) stay as they are.
 */
export function toPlain(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (typeof value !== 'object' || value === null || isRawTensor(value) || value instanceof Uint8Array) return value;
  if (value instanceof TorchDtype) return `torch.${value.dtype}`;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (Array.isArray(value) || value instanceof Set) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(toPlain(item, seen));
    return out;
  }
  if (value instanceof PyRecord && NAMESPACES.has(value.className)) return plainObject(value.attributes(), value, seen);
  if (value instanceof Map) {
    const plainKeys = [...value.keys()].every((k) => typeof k === 'string' || typeof k === 'number');
    if (plainKeys) return plainObject(value, value, seen);
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value) out.set(k, toPlain(v, seen));
    return out;
  }
  return value;
}

function plainObject(entries: Map<unknown, unknown>, from: object, seen: Map<object, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  seen.set(from, out);
  for (const [k, v] of entries) setEntry(out, String(k), toPlain(v, seen));
  return out;
}

/** Defines an own property, so a key such as "__proto__" stays a plain key. */
function setEntry(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
