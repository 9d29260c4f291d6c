// Deterministic memory: every tensor made inside `tidy` is freed when it ends, except what the
// function returns or what `keep` marks. Nothing waits for the garbage collector.
import { native } from './native.js';

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const scopes: Set<Disposable>[] = [];

/** Called by every new tensor: the innermost open scope owns it. */
export function track(t: Disposable): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Take a tensor out of every open scope, so it outlives them (parameters, state). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(value: unknown, into: Set<unknown>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (into.has(value)) return;
  into.add(value);
  if (Array.isArray(value)) for (const v of value) collect(v, into, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into, depth + 1);
}

/**
 * Run `fn`, then dispose every tensor it created except those reachable from its return value
 * (a tensor, or arrays / plain objects / Maps of them). Returned tensors move to the outer scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error('tidy: the function returned a Promise; tidy is synchronous (use it inside the async function instead)');
  }
  const reachable = new Set<unknown>();
  collect(result, reachable);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (reachable.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/**
 * Live native tensors (handles), the bytes of their distinct storages, and the idle bytes segkit's
 * CPU allocator keeps for reuse (see emptyCache).
 */
export function memory(): { tensors: number; bytes: number; cachedBytes: number } {
  return native.memory();
}

/**
 * Give the idle blocks of segkit's caching CPU allocator back to the system. Blocks of 1 MiB
 * and more are kept after their tensors are freed and reused for later tensors that fit, which
 * spares the page faults of fresh memory (a training loop reallocates the same sizes each step).
 */
export function emptyCache(): void {
  native.emptyCache();
}

/** Keep at most `bytes` idle in the allocator's cache (default: no limit). */
export function setCacheLimit(bytes: number): void {
  native.setCacheLimit(bytes);
}
