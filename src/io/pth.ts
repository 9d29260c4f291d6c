// Reader for PyTorch `.pth`/`.pt` files written by torch.save, without executing their pickles.
//
// Zip format (torch >= 1.6): `<dir>/data.pkl` is a pickle whose tensors point, through persistent
// ids ('storage', StorageType, key, location, numel), at raw storages `<dir>/data/<key>`;
// `<dir>/byteorder` says "little" or "big" (little when absent).
// Legacy format (before 1.6, or _use_new_zipfile_serialization=False): pickles back to back
// (magic number, protocol version, system info, the object, the storage keys) followed by each
// storage as an int64 element count and its bytes. Its pickle names nn.Module classes through
// persistent ids ('module', class, source file, source text); the source is never run by torch
// either (it only warns when it changed), and here the class stays an inert PyRef.
//
// Torch objects the pickle names are implemented below (tensor rebuilders, storages, dtypes);
// any other class, such as the module classes of a torch.save(model) file, becomes an inert
// PyRecord (see pickle.ts), and checkpoint.ts reads the state dict out of those.

import { readFileSync } from 'node:fs';
import { type DType, type RawTensor, dtypeSize, numel } from './raw.js';
import { type GlobalResolver, type PyGlobal, PyRecord, PyRef, isTuple, unpickle } from './pickle.js';
import { ZipArchive, isZip } from './zip.js';

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/**
 * Reads a torch.save file into plain values (see pickle.ts for the mapping); tensors become
 * contiguous RawTensors, objects of other classes (a pickled model's modules, argparse
 * Namespaces) inert PyRecords. Contiguous tensors are views into the file buffer, so entries
 * that share a storage (tied weights) may share bytes.
 */
export function readTorchFile(input: Uint8Array | string, source?: string): unknown {
  const bytes = typeof input === 'string' ? readFileSync(input) : input;
  const src = source ?? (typeof input === 'string' ? input : '<buffer>');
  if (isZip(bytes)) return readZipFormat(bytes, src);
  if (bytes[0] === 0x80) return readLegacyFormat(bytes, src);
  if (bytes.byteLength > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar') {
    throw new Error(`${src}: this is the oldest, tar-based torch format, which segkit does not read. Load it with an older torch and re-save it with a recent one.`);
  }
  if (bytes.byteLength > 8 && bytes[8] === 0x7b /* '{' */) {
    throw new Error(`${src}: this looks like a safetensors file, not a torch.save file; read it with readSafetensors.`);
  }
  throw new Error(`${src}: not a torch.save file (neither a zip archive nor a pickle)`);
}

// ---------------------------------------------------------------------------------------------
// Torch objects the pickles refer to

/** A storage's bytes, as loaded from the archive. */
class TorchStorage {
  constructor(
    readonly dtype: DType,
    readonly bytes: Uint8Array,
  ) {}
}

/** torch.FloatStorage and friends: markers that carry their element type. */
class StorageType implements PyGlobal {
  readonly module = 'torch';
  constructor(
    readonly name: string,
    readonly dtype: DType,
  ) {}
}

/** torch.float32 and friends. */
export class TorchDtype implements PyGlobal {
  readonly module = 'torch';
  constructor(
    readonly name: string,
    readonly dtype: DType,
  ) {}
}

const STORAGE_TYPES = new Map<string, DType>([
  ['FloatStorage', 'float32'],
  ['HalfStorage', 'float16'],
  ['BFloat16Storage', 'bfloat16'],
  ['DoubleStorage', 'float64'],
  ['LongStorage', 'int64'],
  ['IntStorage', 'int32'],
  ['ShortStorage', 'int16'],
  ['CharStorage', 'int8'],
  ['ByteStorage', 'uint8'],
  ['BoolStorage', 'bool'],
  ['UntypedStorage', 'uint8'],
]);

const DTYPE_NAMES = new Map<string, DType>([
  ['float32', 'float32'], ['float', 'float32'], ['float16', 'float16'], ['half', 'float16'],
  ['bfloat16', 'bfloat16'], ['float64', 'float64'], ['double', 'float64'], ['uint8', 'uint8'],
  ['int8', 'int8'], ['int16', 'int16'], ['short', 'int16'], ['int32', 'int32'], ['int', 'int32'],
  ['int64', 'int64'], ['long', 'int64'], ['bool', 'bool'],
]);

interface TorchContext {
  bigEndian: boolean;
  /** Pass 1 of the legacy reader: check arguments, build no tensor (the bytes are not read yet). */
  dryRun?: boolean;
}

/** The torch part of the allowlist. Everything here is implemented below; nothing is imported. */
function torchGlobals(ctx: TorchContext): GlobalResolver {
  const fns = new Map<string, (args: readonly unknown[]) => unknown>([
    ['torch._utils._rebuild_tensor', ([storage, offset, size, stride]) => rebuild(ctx, storage, offset, size, stride)],
    ['torch._utils._rebuild_tensor_v2', ([storage, offset, size, stride]) => rebuild(ctx, storage, offset, size, stride)],
    [
      'torch._utils._rebuild_tensor_v3',
      ([storage, offset, size, stride, , , dtype]) => {
        if (!(dtype instanceof TorchDtype)) throw new Error('expected a torch dtype as 7th argument');
        return rebuild(ctx, storage, offset, size, stride, dtype.dtype);
      },
    ],
    // A Parameter is its tensor (requires_grad and hooks are not kept).
    ['torch._utils._rebuild_parameter', ([data]) => data],
    ['torch._utils._rebuild_parameter_with_state', ([data]) => data],
    ['torch.nn.parameter.Parameter', ([data]) => data],
    // A tensor subclass or a tensor with attributes: rebuilt by `func`, kept as a plain tensor.
    ['torch._tensor._rebuild_from_type', ([func, , args]) => rebuildVia(func, args)],
    ['torch._tensor._rebuild_from_type_v2', ([func, , args]) => rebuildVia(func, args)],
    ['torch.Size', ([sizes]) => Object.freeze([...intList(sizes, 'size')])],
    ['torch.device', ([type, index]) => (typeof index === 'number' ? `${String(type)}:${index}` : String(type))],
  ]);
  return (module, name) => {
    const fn = fns.get(`${module}.${name}`);
    if (fn !== undefined) return { module, name, call: fn };
    const storage = STORAGE_TYPES.get(name);
    if (storage !== undefined && (module === 'torch' || module === 'torch.storage')) return new StorageType(name, storage);
    const dtype = DTYPE_NAMES.get(name);
    if (dtype !== undefined && module === 'torch') return new TorchDtype(name, dtype);
    return undefined;
  };
}

/** Runs one of the rebuilders above (never anything else: a PyRef gives an inert record). */
function rebuildVia(func: unknown, args: unknown): unknown {
  if (!Array.isArray(args)) throw new Error('expected a tuple of arguments for the tensor rebuilder');
  if (func instanceof PyRef) return new PyRecord(func, args);
  const fn = func as PyGlobal | null;
  if (fn === null || typeof fn !== 'object' || fn.call === undefined) throw new Error('expected a tensor rebuild function');
  return fn.call(args);
}

function rebuild(ctx: TorchContext, storage: unknown, offset: unknown, size: unknown, stride: unknown, dtype?: DType): RawTensor | null {
  if (!(storage instanceof TorchStorage)) throw new Error('expected a storage as first argument');
  const shape = intList(size, 'size');
  const strides = intList(stride, 'stride');
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new Error(`storage offset ${String(offset)} must be a non-negative integer`);
  if (strides.length !== shape.length) throw new Error(`size ${JSON.stringify(shape)} and stride ${JSON.stringify(strides)} differ in length`);
  if (ctx.dryRun) return null;
  const elementType = dtype ?? storage.dtype;
  const elementSize = dtypeSize(elementType);
  const data = gather(storage.bytes, elementSize, offset as number, shape, strides);
  return { dtype: elementType, shape, data: ctx.bigEndian ? swapBytes(data, elementSize) : data };
}

function intList(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v) && v >= 0)) {
    throw new Error(`tensor ${what} ${JSON.stringify(value)} must be a tuple of non-negative integers`);
  }
  return [...value] as number[];
}

/**
 * Copies the elements a (storage offset, size, stride) view selects into a row-major buffer.
 * A view that is already contiguous comes back as a subarray, without copying.
 */
export function gather(src: Uint8Array, elementSize: number, offset: number, size: readonly number[], stride: readonly number[]): Uint8Array {
  const n = numel(size);
  if (n === 0) return new Uint8Array(0);
  let last = offset;
  for (let d = 0; d < size.length; d++) last += (size[d] - 1) * stride[d];
  if ((last + 1) * elementSize > src.byteLength) {
    throw new Error(`view (offset ${offset}, size ${JSON.stringify(size)}, stride ${JSON.stringify(stride)}) reaches element ${last}, past the end of its storage (${src.byteLength / elementSize} elements)`);
  }
  if (isContiguous(size, stride)) return src.subarray(offset * elementSize, (offset + n) * elementSize);

  const out = new Uint8Array(n * elementSize);
  const nd = size.length;
  const inner = size[nd - 1];
  const innerStride = stride[nd - 1];
  const index = new Array<number>(nd - 1).fill(0); // position in the outer dimensions
  let o = 0;
  for (let row = 0; row < n / inner; row++) {
    let base = offset;
    for (let d = 0; d < nd - 1; d++) base += index[d] * stride[d];
    if (innerStride === 1) {
      out.set(src.subarray(base * elementSize, (base + inner) * elementSize), o);
      o += inner * elementSize;
    } else {
      for (let j = 0; j < inner; j++) {
        const s = (base + j * innerStride) * elementSize;
        for (let b = 0; b < elementSize; b++) out[o++] = src[s + b];
      }
    }
    for (let d = nd - 2; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/** Row-major contiguity, ignoring the strides of size-1 dimensions as torch does. */
function isContiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d];
  }
  return true;
}

function swapBytes(data: Uint8Array, elementSize: number): Uint8Array {
  const out = data.slice();
  if (elementSize > 1) for (let i = 0; i < out.byteLength; i += elementSize) out.subarray(i, i + elementSize).reverse();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Zip format

function readZipFormat(bytes: Uint8Array, source: string): unknown {
  const zip = new ZipArchive(bytes, source);
  if (zip.names().some((n) => /^[^/]+\/(constants\.pkl|code\/)/.test(n))) {
    throw new Error(`${source}: this is a TorchScript archive (torch.jit.save); segkit reads torch.save files. Save the weights with torch.save(model.state_dict(), path).`);
  }
  const pickles = zip.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) throw new Error(`${source}: not a torch.save archive: expected one <folder>/data.pkl, found ${pickles.length}`);
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const byteorder = zip.has(`${prefix}byteorder`) ? new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') throw new Error(`${source}: unknown byteorder ${JSON.stringify(byteorder)}`);

  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): TorchStorage => {
    const { type, key, count } = storageId(pid, 5);
    const cached = storages.get(key);
    if (cached !== undefined) return cached;
    const entry = `${prefix}data/${key}`;
    if (!zip.has(entry)) throw new Error(`storage ${entry} is missing from the archive`);
    const data = zip.read(entry);
    if (data.byteLength !== count * dtypeSize(type.dtype)) {
      throw new Error(`storage ${entry} holds ${data.byteLength} bytes, but the pickle declares ${count} × ${type.name} elements`);
    }
    const storage = new TorchStorage(type.dtype, data);
    storages.set(key, storage);
    return storage;
  };
  const globals = torchGlobals({ bigEndian: byteorder === 'big' });
  return unpickle(zip.read(pickles[0]), { source: `${source} (${pickles[0]})`, globals, persistentLoad }).value;
}

/** Checks a persistent id ('storage', StorageType, key, location, numel[, view metadata]). */
function storageId(pid: unknown, minLength: number): { type: StorageType; key: string; count: number; view: unknown } {
  if (!isTuple(pid) || pid.length < minLength || pid[0] !== 'storage') {
    throw new Error(`unexpected persistent id ${JSON.stringify(pid)}; expected ('storage', type, key, location, numel)`);
  }
  const [, type, key, , count, view] = pid;
  if (type instanceof PyRef) throw new Error(`storages of type ${type.module}.${type.name} are not supported (segkit reads ${[...STORAGE_TYPES.keys()].join(', ')})`);
  if (!(type instanceof StorageType)) throw new Error('persistent id without a storage type');
  if (typeof key !== 'string' || !Number.isSafeInteger(count) || (count as number) < 0) {
    throw new Error(`malformed storage id (key ${JSON.stringify(key)}, numel ${String(count)})`);
  }
  return { type, key, count: count as number, view: view ?? null };
}

// ---------------------------------------------------------------------------------------------
// Legacy format

function readLegacyFormat(bytes: Uint8Array, source: string): unknown {
  const magic = unpickle(bytes, { source });
  if (magic.value !== LEGACY_MAGIC) {
    throw new Error(`${source}: a plain pickle, not a torch.save file (no torch magic number at the start)`);
  }
  const version = unpickle(bytes, { source, start: magic.end });
  if (version.value !== LEGACY_PROTOCOL) throw new Error(`${source}: unsupported legacy torch protocol version ${String(version.value)}`);
  const sysInfo = unpickle(bytes, { source, start: version.end });
  const littleEndian = !(sysInfo.value instanceof Map) || sysInfo.value.get('little_endian') !== false;
  const mainStart = sysInfo.end;

  // Pass 1: learn each storage's type and where the main pickle ends; the bytes come after it.
  const declared = new Map<string, StorageType>();
  const dryRun = unpickle(bytes, {
    source,
    start: mainStart,
    globals: torchGlobals({ bigEndian: false, dryRun: true }),
    persistentLoad: (pid) => {
      if (isModuleId(pid)) return pid[1];
      const { type, key } = storageId(pid, 5);
      declared.set(key, type);
      return new TorchStorage(type.dtype, new Uint8Array(0));
    },
  });
  const keys = unpickle(bytes, { source, start: dryRun.end });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw new Error(`${source}: legacy storage key list is malformed`);
  }
  const roots = readLegacyStorages(bytes, source, keys.end, keys.value as string[], declared, littleEndian);

  // Pass 2: the real load, now that every storage's bytes are known.
  const persistentLoad = (pid: unknown): unknown => {
    if (isModuleId(pid)) return pid[1];
    const { type, key, view } = storageId(pid, 5);
    const root = roots.get(key);
    if (root === undefined) throw new Error(`storage ${key} has no data in the file`);
    if (view === null) return root;
    // Old files describe views as (view key, element offset, element count) into the root.
    if (!Array.isArray(view) || view.length !== 3) throw new Error(`malformed storage view ${JSON.stringify(view)}`);
    const [, offset, count] = view as [unknown, number, number];
    const es = dtypeSize(type.dtype);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || (offset + count) * es > root.bytes.byteLength) {
      throw new Error(`storage view of ${key} runs past its end`);
    }
    return new TorchStorage(type.dtype, root.bytes.subarray(offset * es, (offset + count) * es));
  };
  const globals = torchGlobals({ bigEndian: !littleEndian });
  return unpickle(bytes, { source, start: mainStart, globals, persistentLoad }).value;
}

/** ('module', class, source file, source text): how legacy files name an nn.Module class. */
function isModuleId(pid: unknown): pid is readonly [string, PyRef, ...unknown[]] {
  if (!isTuple(pid) || pid[0] !== 'module') return false;
  if (pid.length !== 4 || !(pid[1] instanceof PyRef)) throw new Error(`malformed module id: expected ('module', class, source file, source), got ${pid.length} items`);
  return true;
}

/** After the key list: for each key, an int64 element count, then the elements. */
function readLegacyStorages(
  bytes: Uint8Array,
  source: string,
  start: number,
  keys: string[],
  declared: Map<string, StorageType>,
  littleEndian: boolean,
): Map<string, TorchStorage> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const roots = new Map<string, TorchStorage>();
  let at = start;
  for (const key of keys) {
    const type = declared.get(key);
    if (type === undefined) throw new Error(`${source}: storage ${key} is listed but never used`);
    if (at + 8 > bytes.byteLength) throw new Error(`${source}: file ends before storage ${key} (truncated?)`);
    const count = Number(view.getBigInt64(at, littleEndian));
    const end = at + 8 + count * dtypeSize(type.dtype);
    if (count < 0 || end > bytes.byteLength) throw new Error(`${source}: storage ${key} (${count} elements) runs past the end of the file (truncated?)`);
    roots.set(key, new TorchStorage(type.dtype, bytes.subarray(at + 8, end)));
    at = end;
  }
  return roots;
}
