// Containers: Sequential, ModuleList, ModuleDict. Children are registered under their index
// ('0', '1', ...) or key, so state-dict names match PyTorch's ('features.3.weight').
import { Tensor, tidy } from '../torch/index.js';
import { Module, isModuleTensor, takeChild } from './module.js';
import { Conv2d } from './conv.js';

type Entries<M extends Module> = Map<string, M> | Record<string, M> | [string, M][];

function entriesOf<M extends Module>(e: Entries<M>): [string, M][] {
  if (e instanceof Map) return [...e];
  if (Array.isArray(e)) return e;
  return Object.entries(e);
}

function positional(owner: Module, i: number): Module {
  const all = [...owner._modules.values()];
  const at = i < 0 ? all.length + i : i;
  const m = at >= 0 && at < all.length ? all[at] : undefined;
  if (m === undefined) {
    throw new RangeError(`${owner.constructor.name}: index ${i} is out of range for ${all.length} module${all.length === 1 ? '' : 's'}${at >= 0 && at < all.length ? ' (that slot is empty)' : ''}`);
  }
  return m;
}

/**
 * Runs its children in order, each on the previous one's output. Built from modules (named
 * '0', '1', ...) or from named entries (a Map, an array of [name, module], or an object; an
 * object puts integer-like keys first, as JavaScript orders them).
 *
 * forward() frees each intermediate output as soon as the next child has consumed it (autograd
 * keeps what backward needs), so a long chain holds one activation at a time outside autograd.
 */
export class Sequential extends Module {
  [index: number]: Module;

  constructor(...modules: Module[] | [Entries<Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && !(first instanceof Module)) {
      for (const [name, m] of entriesOf(first as Entries<Module>)) this.registerModule(name, m);
    } else {
      (modules as Module[]).forEach((m, i) => this.registerModule(String(i), m));
    }
  }

  get length(): number {
    return this._modules.size;
  }

  /** The child at position i (negative counts from the end), whatever its name. */
  at(i: number): Module {
    return positional(this, i);
  }

  append(m: Module): this {
    this.registerModule(String(this._modules.size), m);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  override forward(input: any): any {
    return this.runFrom(0, input);
  }

  /**
   * forward(cat(inputs, 1)) for a Sequential whose first child is a Conv2d, without building the
   * concatenation (Conv2d.callOnConcat): a UNet decoder block on [skip, up], an ASPP projection.
   */
  callOnConcat(inputs: Tensor[]): any {
    const first = this.at(0);
    if (!(first instanceof Conv2d)) throw new Error(`Sequential.callOnConcat: the first child must be a Conv2d, got ${first.constructor.name}`);
    return tidy(() => this.runFrom(1, first.callOnConcat(inputs)));
  }

  private runFrom(start: number, input: any): any {
    let x = input;
    for (const m of this.children().slice(start)) {
      const y = m.call(x);
      // free the previous intermediate: not the caller's input, not passed through, not module state
      if (x !== input && x !== y && x instanceof Tensor && !isModuleTensor(x)) x.dispose();
      x = y;
    }
    return x;
  }
}

/** A list of modules registered as '0', '1', ...; it has no forward (iterate it instead). */
export class ModuleList<M extends Module = Module> extends Module {
  [index: number]: M;

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  get length(): number {
    return this._modules.size;
  }

  at(i: number): M {
    return positional(this, i) as M;
  }

  append(m: M): this {
    this.registerModule(String(this._modules.size), m);
    return this;
  }

  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return (this.children() as M[])[Symbol.iterator]();
  }
}

/** Modules by name, in insertion order (a Map or an array of entries keeps any order). */
export class ModuleDict<M extends Module = Module> extends Module {
  constructor(modules: Entries<M> = []) {
    super();
    for (const [name, m] of entriesOf(modules)) this.set(name, m);
  }

  get size(): number {
    return this._modules.size;
  }

  /** The module under `key`; throws naming the keys there are when it is absent. */
  get(key: string): M {
    const m = this._modules.get(key);
    if (m === undefined) throw new Error(`ModuleDict has no module '${key}'; its keys are: ${[...this._modules.keys()].join(', ') || 'none'}`);
    return m as M;
  }

  has(key: string): boolean {
    return this._modules.get(key) !== undefined;
  }

  /** Adds or replaces (disposing the module it replaces). */
  set(key: string, m: M): this {
    this.registerModule(key, m);
    return this;
  }

  /** Removes and disposes the module under `key`. */
  delete(key: string): boolean {
    if (!this._modules.has(key)) return false;
    delete (this as any)[key];
    return true;
  }

  /** Removes the module under `key` and returns it without disposing it (the caller owns it). */
  pop(key: string): M {
    const m = this.get(key);
    takeChild(this, key);
    return m;
  }

  keys(): string[] {
    return this.namedChildren().map(([k]) => k);
  }

  values(): M[] {
    return this.children() as M[];
  }

  entries(): [string, M][] {
    return this.namedChildren() as [string, M][];
  }

  [Symbol.iterator](): Iterator<[string, M]> {
    return this.entries()[Symbol.iterator]();
  }
}
