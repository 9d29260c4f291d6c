// What the CPU can do, as speed choices and benchmark reports need it: its model name and the
// vector extensions that change which kernels win (AVX2, AVX-512, VNNI, BF16, AMX).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuInfo {
  model: string;
  /** The extensions among VECTOR_FLAGS that /proc/cpuinfo lists, in that order. */
  vectorExtensions: string[];
}

const VECTOR_FLAGS = ['avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx_vnni', 'amx_tile', 'amx_bf16', 'amx_int8'];

let cached: CpuInfo | undefined;

export function cpuInfo(): CpuInfo {
  if (cached !== undefined) return cached;
  const model = cpus()[0]?.model?.trim() || 'unknown CPU';
  let flags = new Set<string>();
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
    if (line) flags = new Set(line.split(':')[1].trim().split(/\s+/));
  } catch {
    // not Linux: the model name alone
  }
  cached = { model, vectorExtensions: VECTOR_FLAGS.filter((f) => flags.has(f)) };
  return cached;
}
