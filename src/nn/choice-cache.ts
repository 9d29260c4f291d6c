// Speed choices measured on this machine (the memory layout a model runs fastest in, the faster
// inference backend) are cached as JSON files under $XDG_CACHE_HOME/segkit (~/.cache/segkit), keyed
// by what the measurement depends on, so each is measured once. A cache that cannot be read or
// written only costs a new measurement.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildInfo, getNumThreads } from '../torch/index.js';
import type { Module } from './module.js';
import { cpuInfo } from './cpu.js';

/** The cache file `name` (e.g. 'layouts.json') in $XDG_CACHE_HOME/segkit, else ~/.cache/segkit. */
export function choiceCacheFile(name: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'segkit', name);
}

/** The machine part of a key: CPU model and vector extensions, libtorch version, intra-op threads. */
export function machineKey(): string {
  const cpu = cpuInfo();
  return [cpu.model, cpu.vectorExtensions.join('+'), `torch ${buildInfo().torchVersion}`, `${getNumThreads()} threads`].join(' | ');
}

/** The model part of a key: its class, and a hash of its layers and parameter shapes. */
export function modelKey(model: Module): string {
  const shapes = model.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`).join(',');
  const layers = model.modules().map((m) => m.constructor.name).join(',');
  return `${model.constructor.name} | ${createHash('sha256').update(`${layers}|${shapes}`).digest('hex').slice(0, 16)}`;
}

/** Every entry of a cache file (empty when it is absent or unreadable). */
export function readChoices<T>(file: string): Record<string, T> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, T>;
  } catch {
    return {}; // absent or unreadable: measure again
  }
}

/** Adds or replaces the entry `key` of a cache file, written atomically (temp file + rename). */
export function writeChoice<T>(file: string, key: string, entry: T): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const all = { ...readChoices<T>(file), [key]: entry };
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(all, null, 1)}\n`);
    renameSync(tmp, file);
  } catch {
    // a read-only home only costs the next run a new measurement
  }
}
