// safetensors reader and writer (https://huggingface.co/docs/safetensors).
// Layout: u64 little-endian header length N, N bytes of JSON header, then the data buffer.
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative
// to the data buffer) plus an optional "__metadata__" object of string → string.
// Validation follows the reference implementation: the tensors, sorted by offset, must tile the
// data buffer exactly (no gaps, no overlaps, nothing after the last one).

import { closeSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { type DType, type RawTensor, checkRawTensor, dtypeSize, numel } from './raw.js';

/** The reference implementation refuses headers above this size. */
export const MAX_HEADER_BYTES = 100_000_000;

const TO_FILE: Readonly<Record<DType, string>> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const FROM_FILE = new Map<string, DType>(Object.entries(TO_FILE).map(([d, f]) => [f, d as DType]));

// Write order of the reference writer: descending dtype rank (its enum order, which is the
// alignment order), then by name. Keeps every tensor aligned to its element size.
const WRITE_RANK: readonly DType[] = ['int64', 'float64', 'float32', 'int32', 'bfloat16', 'float16', 'int16', 'int8', 'uint8', 'bool'];

export interface Safetensors {
  /** Tensors in data-offset order; data are zero-copy views into the input bytes. */
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export function parseSafetensors(bytes: Uint8Array, source = '<buffer>'): Safetensors {
  const fail = (problem: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${problem}`);
  };
  const { header, dataStart } = readHeader(bytes, fail);
  const metadata = readMetadata(header.__metadata__, fail);
  const entries = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, info]) => readEntry(name, info, fail));
  const sorted = checkTiling(entries, bytes.byteLength - dataStart, fail);

  const tensors = new Map<string, RawTensor>();
  for (const e of sorted) {
    const data = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): Safetensors {
  return parseSafetensors(readFileSync(path), path);
}

/** The "__metadata__" strings of a safetensors file, reading its header only (not the tensors). */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  const fail = (problem: string): never => {
    throw new Error(`${path}: not a valid safetensors file: ${problem}`);
  };
  const fd = openSync(path, 'r');
  try {
    const size = Buffer.alloc(8);
    readSync(fd, size, 0, 8, 0);
    const n = size.readBigUInt64LE(0);
    if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
    const head = Buffer.alloc(8 + Number(n));
    const got = readSync(fd, head, 0, head.length, 0);
    const { header } = readHeader(head.subarray(0, got), fail);
    return readMetadata(header.__metadata__, fail);
  } finally {
    closeSync(fd);
  }
}

function readHeader(bytes: Uint8Array, fail: (p: string) => never): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.byteLength < 8) fail(`the file has ${bytes.byteLength} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLength = Number(n);
  if (8 + headerLength > bytes.byteLength) {
    fail(`header length ${headerLength} runs past the end of the file (${bytes.byteLength} bytes)`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    return fail(`the header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(`the header JSON must be an object, got ${Array.isArray(header) ? 'an array' : typeof header}`);
  }
  return { header: header as Record<string, unknown>, dataStart: 8 + headerLength };
}

function readMetadata(value: unknown, fail: (p: string) => never): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail('"__metadata__" must be an object of strings');
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') fail(`"__metadata__" value for ${JSON.stringify(k)} must be a string, got ${JSON.stringify(v)}`);
  }
  return Object.fromEntries(entries) as Record<string, string>; // fromEntries: a "__proto__" key stays a plain key
}

function readEntry(name: string, info: unknown, fail: (p: string) => never): HeaderEntry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`${where}: entry must be an object`);
  const { dtype: fileDtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  const dtype = FROM_FILE.get(String(fileDtype));
  if (typeof fileDtype !== 'string' || dtype === undefined) {
    fail(`${where}: unknown dtype ${JSON.stringify(fileDtype)} (supported: ${[...FROM_FILE.keys()].join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`${where}: shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`${where}: data_offsets ${JSON.stringify(offsets)} must be two non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  const expected = numel(shape as number[]) * dtypeSize(dtype!);
  if (end - begin !== expected) {
    fail(`${where}: ${fileDtype} ${JSON.stringify(shape)} needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype: dtype!, shape: shape as number[], begin, end };
}

/** The tensors, taken in offset order, must cover [0, dataLength) exactly once. Returns them in that order. */
function checkTiling(entries: HeaderEntry[], dataLength: number, fail: (p: string) => never): HeaderEntry[] {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    const where = `tensor ${JSON.stringify(e.name)}`;
    if (e.end > dataLength) fail(`${where}: data_offsets [${e.begin}, ${e.end}] run past the end of the data (${dataLength} bytes)`);
    if (e.begin < cursor) fail(`${where}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor, which ends at ${cursor}`);
    if (e.begin > cursor) fail(`${where}: gap between byte ${cursor} and its data_offsets [${e.begin}, ${e.end}]`);
    cursor = e.end;
  }
  if (cursor !== dataLength) fail(`${dataLength - cursor} bytes after the last tensor (data ends at ${cursor}, file data has ${dataLength})`);
  return sorted;
}

/**
 * Serializes like the reference writer: tensors sorted by descending dtype alignment then by
 * name (UTF-8 byte order), compact JSON header padded with spaces to a multiple of 8 bytes,
 * metadata first. Output is byte-identical to the reference for the same input.
 */
export function serializeSafetensors(
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const list = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))];
  for (const [name, t] of list) {
    if (name === '__metadata__') throw new Error('serializeSafetensors: "__metadata__" is reserved and cannot name a tensor');
    checkRawTensor(t, `serializeSafetensors: tensor ${JSON.stringify(name)}`);
  }
  list.sort(([an, a], [bn, b]) => WRITE_RANK.indexOf(a.dtype) - WRITE_RANK.indexOf(b.dtype) || Buffer.compare(Buffer.from(an), Buffer.from(bn)));

  // Built by hand: a JS object would move integer-like names ("0", "12") to the front.
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`serializeSafetensors: metadata value for ${JSON.stringify(k)} must be a string`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const [name, t] of list) {
    const info = { dtype: TO_FILE[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.byteLength / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength);
  let at = 8 + headerLength;
  for (const [, t] of list) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/** Writes atomically: a temporary file beside `path`, then a rename over it. */
export function writeSafetensors(
  path: string,
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
