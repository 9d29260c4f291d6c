// Module: the base of every layer and model, with PyTorch's naming and state-dict semantics.
//
// Registration is by property name, as in PyTorch's __setattr__: assigning a Module, or a tensor
// made by parameter(), to a property registers it under that name; registerBuffer() declares a
// buffer. The constructor returns a Proxy whose defineProperty trap sees every assignment
// (class fields included), so `conv1 = new Conv2d(...)` as a field or `this.weight =
// parameter(t)` in a constructor both register, in assignment order.
//
// Module uses no #private members: methods run with `this` = the proxy, which has no private slots.
//
// Ownership: a module owns the tensors registered in it. They are kept out of tidy() scopes,
// dispose() frees them all, and replacing or deleting a registered parameter, buffer or child
// disposes the old one unless it is still registered somewhere under the same module.
import { Tensor, callOp, fromRaw, isFloating, noGrad, tidy, type DType } from '../torch/index.js';
import { isRawTensor, type RawTensor } from '../io/raw.js';
import { isParameter, parameter } from './parameter.js';

/** What a state dict may hold when loading: tensors, or raw tensors straight from a weights file. */
export type StateDictInput = Map<string, Tensor | RawTensor> | Record<string, Tensor | RawTensor>;

export interface LoadStateDictResult {
  /** Keys the module has and the state dict lacks. */
  missingKeys: string[];
  /** Keys of the state dict the module does not have. */
  unexpectedKeys: string[];
  /** Keys whose shapes differ; with strict: false they are skipped (left as they were). */
  mismatchedKeys: { key: string; expected: number[]; got: number[] }[];
}

const DTYPES: ReadonlySet<string> = new Set(['float32', 'float16', 'bfloat16', 'float64', 'uint8', 'int8', 'int16', 'int32', 'int64', 'bool']);

type Registered = Tensor | Module;

// Every tensor ever registered as a parameter or buffer: code that frees intermediates
// (Sequential.forward) must never free one of these.
const moduleTensors = new WeakSet<Tensor>();
/** True for a tensor registered in some module (a parameter or a buffer). */
export const isModuleTensor = (t: Tensor): boolean => moduleTensors.has(t);

let callObserver: ((m: Module, run: () => unknown) => unknown) | undefined;
/**
 * Runs `fn` with `observer` wrapped around every Module.call (the ONNX exporter keeps the path
 * of the module that called each op this way); the observer must call `run` and return its value.
 */
export function observeModuleCalls<T>(observer: (m: Module, run: () => unknown) => unknown, fn: () => T): T {
  if (callObserver !== undefined) throw new Error('observeModuleCalls: an observer is already set (they do not nest)');
  callObserver = observer;
  try {
    return fn();
  } finally {
    callObserver = undefined;
  }
}

let releaseSuspended = false;
/**
 * Removes child `name` from `m` without disposing it and returns it: the caller owns it now
 * (ModuleDict.pop).
 */
/** The device of a module's first parameter or buffer ('cpu' for a module without tensors). */
export function deviceOf(m: Module): string {
  return (m.parameters()[0] ?? m.buffers()[0])?.device ?? 'cpu';
}

export function takeChild(m: Module, name: string): Module | undefined {
  const child = m._modules.get(name);
  releaseSuspended = true;
  try {
    delete (m as any)[name];
  } finally {
    releaseSuspended = false;
  }
  return child;
}

export class Module {
  /** Training (true) or evaluation (false) mode; change it with train() / eval(). */
  training = true;
  /** @internal PyTorch's `_parameters`: name → parameter (undefined: declared, None in PyTorch) */
  declare readonly _parameters: Map<string, Tensor | undefined>;
  /** @internal PyTorch's `_buffers` */
  declare readonly _buffers: Map<string, Tensor | undefined>;
  /** @internal buffers left out of the state dict */
  declare readonly _nonPersistent: Set<string>;
  /** @internal PyTorch's `_modules` */
  declare readonly _modules: Map<string, Module | undefined>;

  constructor() {
    for (const [k, v] of [['_parameters', new Map()], ['_buffers', new Map()], ['_nonPersistent', new Set()], ['_modules', new Map()]] as const) {
      Object.defineProperty(this, k, { value: v, enumerable: false });
    }
    return new Proxy(this, registrar);
  }

  /** The computation; subclasses define it, and callers run it through call(). */
  forward(..._args: any[]): any {
    throw new Error(`${this.constructor.name} does not define forward()`);
  }

  /**
   * Runs forward, as PyTorch's `module(x)` does: inside a memory scope, so every tensor the
   * forward makes and does not return is freed when it ends (autograd keeps what backward
   * needs). Model code calls its children this way and carries no dispose bookkeeping:
   * `const y = this.bn1.call(this.conv1.call(x))`. What it returns (tensors, or arrays / plain
   * objects of them) belongs to the caller's scope.
   */
  call<M extends Module>(this: M, ...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    if (callObserver !== undefined) return callObserver(this, () => tidy(() => this.forward(...args))) as ReturnType<M['forward']>;
    return tidy(() => this.forward(...args));
  }

  /**
   * Children [conv, bn] where the BatchNorm2d reads nothing but that Conv2d's output, for
   * fuseConvBn to fold in eval mode (children of a Sequential are found without this).
   */
  convBnPairs(): [string, string][] {
    return [];
  }

  // ---- registration ----

  /** Registers `t` (made a parameter if it is not one) or declares an empty slot (`undefined`). */
  registerParameter(name: string, t: Tensor | undefined): void {
    checkName(this, name, 'parameter');
    if (t === undefined) {
      if (this._buffers.has(name) || this._modules.has(name)) delete (this as any)[name];
      if (!this._parameters.has(name)) this._parameters.set(name, undefined);
      (this as any)[name] = undefined;
      return;
    }
    (this as any)[name] = isParameter(t) ? t : parameter(t);
  }

  /**
   * Registers a buffer: state that is not trained (running statistics). Persistent buffers are
   * part of the state dict; non-persistent ones only move with to() and are freed by dispose().
   */
  registerBuffer(name: string, t: Tensor | undefined, opts: { persistent?: boolean } = {}): void {
    checkName(this, name, 'buffer');
    if (this._parameters.has(name) || this._modules.has(name)) {
      throw new Error(`${this.constructor.name}.registerBuffer: '${name}' is already a ${this._parameters.has(name) ? 'parameter' : 'child module'}; pick another name`);
    }
    if (!this._buffers.has(name)) this._buffers.set(name, undefined);
    if (opts.persistent ?? true) this._nonPersistent.delete(name);
    else this._nonPersistent.add(name);
    (this as any)[name] = t;
  }

  /** Registers a child under `name` (what assigning it to `this[name]` does); `undefined` declares an empty slot. */
  registerModule(name: string, m: Module | undefined): void {
    checkName(this, name, 'module');
    if (m === undefined) {
      if (this._parameters.has(name) || this._buffers.has(name)) delete (this as any)[name];
      if (!this._modules.has(name)) this._modules.set(name, undefined);
    }
    (this as any)[name] = m;
  }

  // ---- traversal (PyTorch order: registration order, depth first, parents before children) ----

  namedChildren(): [string, Module][] {
    return [...this._modules].filter((e): e is [string, Module] => e[1] !== undefined);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module (name '') and every descendant, each once. */
  namedModules(prefix = '', seen = new Set<Module>()): [string, Module][] {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, m] of this.namedChildren()) out.push(...m.namedModules(join(prefix, name), seen));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters with their dotted names, each tensor once (a shared one under its first name). */
  namedParameters(opts: { prefix?: string; recurse?: boolean } = {}): [string, Tensor][] {
    return this._namedMembers('_parameters', opts);
  }

  parameters(recurse = true): Tensor[] {
    return this.namedParameters({ recurse }).map(([, p]) => p);
  }

  /** Buffers (persistent or not) with their dotted names, each tensor once. */
  namedBuffers(opts: { prefix?: string; recurse?: boolean } = {}): [string, Tensor][] {
    return this._namedMembers('_buffers', opts);
  }

  buffers(recurse = true): Tensor[] {
    return this.namedBuffers({ recurse }).map(([, b]) => b);
  }

  private _namedMembers(kind: '_parameters' | '_buffers', opts: { prefix?: string; recurse?: boolean }): [string, Tensor][] {
    const { prefix = '', recurse = true } = opts;
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [modName, m] of mods) {
      for (const [name, t] of m[kind]) {
        if (t === undefined || seen.has(t)) continue;
        seen.add(t);
        out.push([join(modName, name), t]);
      }
    }
    return out;
  }

  /** The module at a dotted path ('layer1.0.conv1'); '' is this module. */
  getSubmodule(path: string): Module {
    let m: Module = this;
    if (path === '') return m;
    for (const part of path.split('.')) {
      const next = m._modules.get(part);
      if (next === undefined) {
        const have = [...m._modules.keys()].join(', ') || 'none';
        throw new Error(`${m.constructor.name} has no child '${part}' (in path '${path}'); its children are: ${have}`);
      }
      m = next;
    }
    return m;
  }

  // ---- state dict ----

  /**
   * Every parameter and persistent buffer under its PyTorch key, in PyTorch's order: a module's
   * own parameters, then its buffers, then each child's entries. Shared tensors appear under
   * every name. The tensors are the module's own (not copies): read them, do not dispose them.
   */
  stateDict(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this._walkState(prefix, (key, t) => out.set(key, t));
    return out;
  }

  private _walkState(prefix: string, visit: (key: string, t: Tensor, owner: Module, name: string) => void): void {
    for (const [name, p] of this._parameters) if (p !== undefined) visit(prefix + name, p, this, name);
    for (const [name, b] of this._buffers) {
      if (b !== undefined && !this._nonPersistent.has(name)) visit(prefix + name, b, this, name);
    }
    for (const [name, m] of this._modules) if (m !== undefined) m._walkState(`${prefix}${name}.`, visit);
  }

  /**
   * State-dict entries that older files may lack and that then take a value instead of being
   * reported missing (PyTorch's BatchNorm fills `num_batches_tracked` with 0 the same way).
   */
  protected stateDefaults(): Record<string, number> {
    return {};
  }

  /**
   * Rewrites the entries of a state dict being loaded that belong to this module (their keys
   * start with `prefix`), as PyTorch modules do in _load_from_state_dict: old key names, entries
   * to drop. `state` is loadStateDict's own copy. FrozenBatchNorm2d drops num_batches_tracked;
   * the FPN renames keys from before torchvision 0.13.
   */
  protected upgradeStateDict(_state: Map<string, unknown>, _prefix: string): void {}

  /**
   * Copies a state dict into this module's tensors, in place (tensors keep their identity, so
   * optimizers holding them stay valid; dtype and device are converted as needed). Strict mode
   * (the default) checks everything first and throws one Error listing every missing,
   * unexpected and wrong-shape key, changing nothing. With strict: false, the keys that match
   * are loaded and the rest are returned.
   */
  /**
   * Renames, in place, the keys of `state` that this module's parts spell in an older way (files
   * from before torchvision 0.13), as loadStateDict does before loading; for code that matches
   * a file's keys against the model's itself (loadPretrained).
   */
  upgradeKeys(state: Map<string, unknown>): void {
    for (const [path, m] of this.namedModules()) m.upgradeStateDict(state, path ? `${path}.` : '');
  }

  loadStateDict(stateDict: StateDictInput, opts: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const given = new Map(stateDict instanceof Map ? stateDict : Object.entries(stateDict));
    this.upgradeKeys(given);
    const targets = new Map<string, { t: Tensor; fill?: number }>();
    // a default stands in only for a module whose other entries the state dict has
    const loaded = new Set<Module>();
    this._walkState('', (key, _t, owner) => given.has(key) && loaded.add(owner));
    this._walkState('', (key, t, owner, name) => targets.set(key, { t, fill: loaded.has(owner) ? owner.stateDefaults()[name] : undefined }));

    const missingKeys: string[] = [];
    const mismatchedKeys: LoadStateDictResult['mismatchedKeys'] = [];
    for (const [key, { t, fill }] of targets) {
      const v = given.get(key);
      if (v === undefined) {
        if (fill === undefined) missingKeys.push(key);
        continue;
      }
      if (!(v instanceof Tensor) && !isRawTensor(v)) throw new TypeError(`loadStateDict: '${key}' holds ${typeof v}, not a Tensor or RawTensor`);
      const got = v.shape;
      const expected = t.shape;
      if (!sameShape(got, expected)) mismatchedKeys.push({ key, expected, got });
    }
    const unexpectedKeys = [...given.keys()].filter((k) => !targets.has(k));
    if (strict && missingKeys.length + unexpectedKeys.length + mismatchedKeys.length > 0) {
      throw new Error(loadError(this.constructor.name, missingKeys, unexpectedKeys, mismatchedKeys, [...targets.keys()]));
    }

    const skip = new Set(mismatchedKeys.map((m) => m.key));
    noGrad(() => {
      for (const [key, { t, fill }] of targets) {
        const v = given.get(key);
        if (v === undefined) {
          if (fill !== undefined) t.fill_(fill);
          continue;
        }
        if (skip.has(key)) continue;
        if (v instanceof Tensor) {
          if (v !== t) t.copy_(v);
        } else {
          const src = fromRaw(v as RawTensor);
          try {
            t.copy_(src);
          } finally {
            src.dispose();
          }
        }
      }
    });
    return { missingKeys, unexpectedKeys, mismatchedKeys };
  }

  // ---- modes ----

  /** Sets training mode on this module and every descendant (eval() is train(false)). */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Turns gradient recording on or off for every parameter (freezing a backbone). */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = undefined;
  }

  /** Calls fn on every descendant, children first, then on this module (Module.apply). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ---- conversion (in place: tensors keep their identity, gradients move along) ----

  /**
   * Moves every parameter and buffer to a device, and/or casts the floating-point ones to a
   * dtype (integer buffers such as num_batches_tracked keep theirs), like Module.to.
   */
  to(target: DType | string | { device?: string; dtype?: DType }): this {
    const o = typeof target === 'string' ? (DTYPES.has(target) ? { dtype: target as DType } : { device: target }) : target;
    if (o.dtype !== undefined && !isFloating(o.dtype)) {
      throw new Error(`Module.to: dtype must be floating point (float32, float64, float16, bfloat16), got '${o.dtype}'`);
    }
    for (const t of this._ownedTensors()) {
      const dtype = o.dtype !== undefined && isFloating(t.dtype as DType) ? o.dtype : undefined;
      if (dtype === undefined && o.device === undefined) continue;
      replaceData(t, (x) => x.to({ dtype, device: o.device }));
    }
    return this;
  }

  float(): this { return this.to('float32'); }
  double(): this { return this.to('float64'); }
  half(): this { return this.to('float16'); }
  cpu(): this { return this.to({ device: 'cpu' }); }
  cuda(index = 0): this { return this.to({ device: `cuda:${index}` }); }

  /**
   * Gives every 4-D parameter and buffer the channels-last memory format, as
   * Module.to(memory_format=torch.channels_last) does (1×1 kernels too: their strides become NHWC's).
   */
  toChannelsLast(): this {
    return this.toMemoryFormat('channels_last');
  }

  /** Gives every 4-D parameter and buffer `format` ('channels_last', or 'contiguous' for NCHW). */
  toMemoryFormat(format: 'channels_last' | 'contiguous'): this {
    for (const t of this._ownedTensors()) {
      if (t.ndim === 4 && !hasStrides(t, format)) replaceData(t, (x) => x.clone(format));
    }
    return this;
  }

  private _ownedTensors(): Tensor[] {
    const seen = new Set<Tensor>();
    for (const m of this.modules()) {
      for (const t of m._parameters.values()) if (t) seen.add(t);
      for (const t of m._buffers.values()) if (t) seen.add(t);
    }
    return [...seen];
  }

  // ---- memory ----

  /** Frees every parameter and buffer of this module and its descendants. The module is unusable afterwards. */
  dispose(): void {
    for (const t of this._ownedTensors()) t.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- printing (PyTorch's repr) ----

  /** The options shown inside the parentheses by toString(), as in PyTorch's extra_repr. */
  extraRepr(): string {
    return '';
  }

  toString(): string {
    const extra = this.extraRepr() ? this.extraRepr().split('\n') : [];
    const childLines = [...this._modules].map(([k, m]) => `(${k}): ${indent(m === undefined ? 'None' : m.toString(), 2)}`);
    const lines = [...extra, ...childLines];
    let s = `${this.constructor.name}(`;
    if (lines.length > 0) {
      s += extra.length === 1 && childLines.length === 0 ? extra[0] : `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }
}

// ---------------------------------------------------------------------------------------------
// The registration trap

const registrar: ProxyHandler<Module> = {
  defineProperty(target, key, desc) {
    if (typeof key !== 'string') return Reflect.defineProperty(target, key, desc);
    if (!('value' in desc)) {
      if (isRegistered(target, key)) throw new TypeError(`${target.constructor.name}: '${key}' is a registered parameter, buffer or child and cannot become an accessor`);
      return Reflect.defineProperty(target, key, desc);
    }
    const old = assign(target, key, desc.value);
    const ok = Reflect.defineProperty(target, key, desc);
    release(target, old, desc.value);
    return ok;
  },
  deleteProperty(target, key) {
    if (typeof key !== 'string') return Reflect.deleteProperty(target, key);
    const old = registeredValue(target, key);
    target._parameters.delete(key);
    target._buffers.delete(key);
    target._nonPersistent.delete(key);
    target._modules.delete(key);
    const ok = Reflect.deleteProperty(target, key);
    release(target, old, undefined);
    return ok;
  },
};

const isRegistered = (m: Module, name: string): boolean => m._parameters.has(name) || m._buffers.has(name) || m._modules.has(name);

function registeredValue(m: Module, name: string): Registered | undefined {
  return m._parameters.get(name) ?? m._buffers.get(name) ?? m._modules.get(name);
}

/** Updates the registries for `m[name] = value`; returns what was registered there before. */
function assign(m: Module, name: string, value: unknown): Registered | undefined {
  const old = registeredValue(m, name);
  const cls = m.constructor.name;
  if (value instanceof Module) {
    checkName(m, name, 'module');
    m._parameters.delete(name);
    m._buffers.delete(name);
    m._nonPersistent.delete(name);
    m._modules.set(name, value);
  } else if (isParameter(value)) {
    checkName(m, name, 'parameter');
    m._buffers.delete(name);
    m._nonPersistent.delete(name);
    m._modules.delete(name);
    m._parameters.set(name, value);
    moduleTensors.add(value);
  } else if (m._parameters.has(name)) {
    if (value != null) {
      throw new TypeError(
        `cannot assign ${describe(value)} to parameter '${name}' of ${cls}: assign nn.parameter(t) or undefined, ` +
          `or change its values in place with ${name}.copy_(t) inside noGrad()`,
      );
    }
    m._parameters.set(name, undefined);
  } else if (m._buffers.has(name)) {
    if (value != null && !(value instanceof Tensor)) throw new TypeError(`cannot assign ${describe(value)} to buffer '${name}' of ${cls}: a Tensor or undefined is expected`);
    if (value instanceof Tensor) {
      value.keep();
      moduleTensors.add(value);
    }
    m._buffers.set(name, value ?? undefined);
  } else if (m._modules.has(name)) {
    if (value != null) throw new TypeError(`cannot assign ${describe(value)} as child module '${name}' of ${cls}: a Module or undefined is expected`);
    m._modules.set(name, undefined);
  }
  return old;
}

/** Disposes what a property held before, unless it is still registered under `owner`. */
function release(owner: Module, old: Registered | undefined, now: unknown): void {
  if (old === undefined || old === now || releaseSuspended) return;
  if (old instanceof Module) {
    if (!owner.modules().includes(old)) old.dispose();
    return;
  }
  for (const m of owner.modules()) {
    for (const t of m._parameters.values()) if (t === old) return;
    for (const t of m._buffers.values()) if (t === old) return;
  }
  old.dispose();
}

function checkName(m: Module, name: string, kind: string): void {
  if (name === '') throw new Error(`${m.constructor.name}: a ${kind} name cannot be empty`);
  if (name.includes('.')) throw new Error(`${m.constructor.name}: ${kind} name '${name}' cannot contain '.'`);
  if (name === 'training' || Reflect.has(Object.getPrototypeOf(m) as object, name)) {
    throw new Error(`${m.constructor.name}: '${name}' is a method or accessor of the class and cannot name a ${kind}; pick another name`);
  }
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return 'a plain Tensor';
  if (v === null) return 'null';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `a ${typeof v}`;
}

// ---------------------------------------------------------------------------------------------
// helpers

const join = (prefix: string, name: string): string => (prefix ? `${prefix}.${name}` : name);

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** Gives `t` new data (another dtype, device or layout) while keeping its identity: param.data = fn(param). */
function replaceData(t: Tensor, fn: (x: Tensor) => Tensor): void {
  noGrad(() => {
    const g = t.grad;
    if (g) t.grad = undefined;
    const moved = fn(t);
    callOp('set_data', t, moved);
    moved.dispose();
    if (g) {
      const mg = fn(g);
      t.grad = mg;
      mg.dispose();
      g.dispose();
    }
  });
}

function indent(s: string, n: number): string {
  const [first, ...rest] = s.split('\n');
  return [first, ...rest.map((l) => ' '.repeat(n) + l)].join('\n');
}

const quoted = (keys: string[]): string => keys.map((k) => `"${k}"`).join(', ');

function loadError(cls: string, missing: string[], unexpected: string[], mismatched: LoadStateDictResult['mismatchedKeys'], expected: string[]): string {
  const lines = [`Error(s) in loading state_dict for ${cls}:`];
  if (missing.length) lines.push(`\tMissing key(s) in state_dict: ${quoted(missing)}.`);
  if (unexpected.length) lines.push(`\tUnexpected key(s) in state_dict: ${quoted(unexpected)}.`);
  for (const { key, expected: e, got } of mismatched) {
    lines.push(`\tsize mismatch for ${key}: copying a param with shape [${got.join(', ')}] from checkpoint, the shape in current model is [${e.join(', ')}].`);
  }
  const hint = prefixHint(missing, unexpected, new Set(expected));
  if (hint) lines.push(hint);
  lines.push('Load with { strict: false } to load the keys that match and get the others back as lists.');
  return lines.join('\n');
}

// A whole checkpoint under an extra prefix ('module.' from DataParallel) or lacking one.
function prefixHint(missing: string[], unexpected: string[], expected: Set<string>): string | undefined {
  if (unexpected.length > 0) {
    const first = unexpected[0].split('.')[0];
    const p = `${first}.`;
    if (unexpected.every((k) => k.startsWith(p) && expected.has(k.slice(p.length)))) {
      return `Every unexpected key starts with '${p}' and matches a model key without it: remove the prefix (the weights readers take { stripPrefix: '${p}' }).`;
    }
  }
  if (missing.length > 0 && unexpected.length === 0) {
    const first = missing[0].split('.')[0];
    if (missing.length === expected.size && missing.every((k) => k.startsWith(`${first}.`))) {
      return `No key matched and every model key starts with '${first}.': the checkpoint may belong to the submodule '${first}' (load it with model.getSubmodule('${first}').loadStateDict(...)).`;
    }
  }
  return undefined;
}

// Exact strides rather than isContiguous(): a 1×1 kernel counts as contiguous in both formats, yet
// PyTorch gives it NHWC strides under channels_last, and kernels choose their path by the strides.
function hasStrides(t: Tensor, format: 'channels_last' | 'contiguous'): boolean {
  const [, c, h, w] = t.shape;
  const want = format === 'channels_last' ? [c * h * w, 1, w * c, c] : [c * h * w, h * w, w, 1];
  return t.info().strides.every((s, i) => s === want[i]);
}
