// The optimizer base (torch.optim.Optimizer): param groups whose hyper-parameters schedulers may
// change between steps, lazily created per-parameter state, zeroGrad, and state dicts in
// PyTorch's layout. Subclasses give their option rules and the update of one group.
//
// Memory: the optimizer owns its state tensors (kept out of every tidy scope) and frees them in
// dispose(). It never owns the parameters.

import { Tensor } from '../torch/tensor.js';
import { keep, tidy } from '../torch/scope.js';
import { noGrad } from '../torch/modes.js';
import { isFloating, type DType } from '../torch/dtype.js';
import type { OptimizerLike, ParamGroupOptions } from './types.js';
import { known } from './schedulers/check.js';

/** A param group: the parameters and every hyper-parameter of the optimizer (camelCase). */
export type ParamGroup<O> = O & ParamGroupOptions & { params: Tensor[] };

/** What the constructor takes: parameters, or groups of parameters with their own options. */
export type ParamsInput<O> = Tensor[] | Array<{ params: Tensor[] } & Partial<O> & { initialLr?: number }>;

/** One parameter's state (PyTorch's names: "step", "exp_avg", "momentum_buffer", ...). */
export type ParamState = Record<string, Tensor | number | boolean | null>;

/**
 * torch.optim's `state_dict()` layout. `state` is keyed by parameter index (counting through
 * the groups in order; parameters without state are absent); group options use PyTorch's
 * snake_case names, so a PyTorch optimizer state loads here and the other way round.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: Array<{ params: number[]; [option: string]: unknown }>;
}

/** The rules of one optimizer class. */
export interface OptimizerSpec<O> {
  name: string;
  /** Every option key, camelCase. */
  keys: readonly (keyof O & string)[];
  /** Defaults; a key left out is required (SGD's lr). */
  defaults: Partial<O>;
  /** Throws an Error naming `who`, the option and its value when a complete group is invalid. */
  check(options: O, who: string): void;
}

// Group keys that PyTorch writes but that have no meaning here (CUDA fast paths).
const PYTORCH_ONLY = new Set(['foreach', 'capturable', 'differentiable', 'fused']);

const toSnake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const toCamel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const copyValue = (v: unknown): unknown => (Array.isArray(v) ? [...v] : v);

// `Optimizer` without an argument accepts any optimizer (what a trainer holds).
export abstract class Optimizer<O extends object = any> implements OptimizerLike {
  /** The class defaults merged with the constructor's options; groups fill gaps from them. */
  readonly defaults: Partial<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  protected readonly state = new Map<Tensor, ParamState>();
  readonly #spec: OptimizerSpec<O>;
  #disposed = false;

  protected constructor(spec: OptimizerSpec<O>, params: ParamsInput<O>, options: Partial<O> = {}) {
    this.#spec = spec;
    known(spec.name, options, spec.keys);
    const defined = Object.entries(options).filter(([, v]) => v !== undefined).map(([k, v]) => [k, copyValue(v)]);
    this.defaults = Object.fromEntries([...Object.entries(spec.defaults).map(([k, v]) => [k, copyValue(v)]), ...defined]) as Partial<O>;
    if (!Array.isArray(params) || params.length === 0) {
      throw new Error(`${spec.name}: got an empty parameter list; pass model parameters or param groups ({ params: [...] })`);
    }
    const groups = params.every((p) => p instanceof Tensor) ? [{ params: params as Tensor[] }] : params;
    for (const g of groups) {
      if (g instanceof Tensor) throw new Error(`${spec.name}: mix of tensors and param groups; pass either a Tensor[] or an array of { params } groups`);
      this.addParamGroup(g as { params: Tensor[] } & Partial<O>);
    }
  }

  /** Adds a group (fine-tuning: unfreezing a backbone later), filling options from the defaults. */
  addParamGroup(group: { params: Tensor[] } & Partial<O> & { initialLr?: number }): void {
    const who = `${this.#spec.name} paramGroups[${this.paramGroups.length}]`;
    const { params, ...options } = group;
    known(who, options, [...this.#spec.keys, 'initialLr']);
    if (!Array.isArray(params) || params.length === 0) {
      throw new Error(`${who}: params must be a non-empty array of tensors, got ${Array.isArray(params) ? '[]' : String(params)}`);
    }
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new Error(`${who}: params[${i}] is not a Tensor (got ${String(p)})`);
      if (seen.has(p)) throw new Error(`${who}: params[${i}] already belongs to a param group; each parameter may appear only once`);
      const info = p.info();
      if (!isFloating(info.dtype as DType)) throw new Error(`${who}: params[${i}] has dtype ${info.dtype}; only floating-point tensors can be optimized`);
      if (!info.isLeaf) throw new Error(`${who}: params[${i}] is not a leaf tensor (it has a grad_fn); optimize the leaf parameters, or detach() it first`);
      seen.add(p);
    });
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const merged = { ...this.defaults, ...defined } as Record<string, unknown>;
    for (const k of this.#spec.keys) {
      if (merged[k] === undefined) throw new Error(`${who}: option ${k} is required; give it in the optimizer options or in every param group`);
      merged[k] = copyValue(merged[k]);
    }
    this.#spec.check(merged as O, who);
    this.paramGroups.push({ ...merged, params: [...params] } as ParamGroup<O>);
  }

  /** Update of one group: `params[i]` has gradient `grads[i]` and state `states[i]` (created empty). */
  protected abstract updateGroup(group: ParamGroup<O>, params: Tensor[], grads: Tensor[], states: ParamState[]): void;

  /** One optimization step from the parameters' current gradients (parameters without one are skipped). */
  step(): void {
    this.#live('step');
    noGrad(() =>
      tidy(() => {
        for (const group of this.paramGroups) {
          const params: Tensor[] = [];
          const grads: Tensor[] = [];
          const states: ParamState[] = [];
          for (const p of group.params) {
            const g = p.grad; // a new handle, freed by tidy
            if (!g) continue;
            let s = this.state.get(p);
            if (!s) this.state.set(p, (s = {}));
            params.push(p);
            grads.push(g);
            states.push(s);
          }
          if (params.length > 0) this.updateGroup(group, params, grads, states);
        }
      }),
    );
  }

  /** Clears the gradients: drops them (default, like PyTorch 2) or fills them with zeros. */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    this.#live('zeroGrad');
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (setToNone) {
          p.grad = undefined;
          continue;
        }
        const g = p.grad;
        if (!g) continue;
        noGrad(() => g.zero_());
        g.dispose();
      }
    }
  }

  /**
   * The state in PyTorch's layout. Tensors are NEW handles sharing the live state's memory (no
   * copy, like PyTorch): serialize them, then dispose them (or call this inside tidy). Their
   * values change at the next step; clone() them to keep a snapshot.
   */
  stateDict(): OptimizerStateDict {
    this.#live('stateDict');
    const state: Record<number, ParamState> = {};
    let index = 0;
    const groups = this.paramGroups.map((group) => {
      const { params, ...options } = group;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(options)) out[toSnake(k)] = copyValue(v);
      out.params = params.map((p) => {
        const s = this.state.get(p);
        if (s) state[index] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Tensor ? v.share() : v]));
        return index++;
      });
      return out as OptimizerStateDict['param_groups'][number];
    });
    return { state, param_groups: groups };
  }

  /**
   * Restores a state dict from stateDict() or from PyTorch (same parameter order). Saved group
   * options replace the current ones (keeping this optimizer's parameters); state tensors are
   * copied to each parameter's dtype and device, so the caller still owns what it passed.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    this.#live('loadStateDict');
    const who = `${this.#spec.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.param_groups) || sd.state === null || typeof sd.state !== 'object') {
      throw new Error(`${who}: expected { state, param_groups } (an optimizer state dict), got ${typeof sd}`);
    }
    if (sd.param_groups.length !== this.paramGroups.length) {
      throw new Error(`${who}: the state has ${sd.param_groups.length} param groups, this optimizer ${this.paramGroups.length}; build the optimizer with the same groups`);
    }
    const byIndex = new Map<number, Tensor>();
    const options = sd.param_groups.map((saved, gi) => {
      const mine = this.paramGroups[gi]!;
      if (!Array.isArray(saved.params) || saved.params.length !== mine.params.length) {
        throw new Error(`${who}: param_groups[${gi}] has ${Array.isArray(saved.params) ? saved.params.length : 'no'} params, this optimizer's group ${mine.params.length}; build the optimizer with the same parameters`);
      }
      saved.params.forEach((idx, j) => byIndex.set(idx, mine.params[j]!));
      const merged: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(saved)) {
        if (k !== 'params' && !PYTORCH_ONLY.has(k)) merged[toCamel(k)] = copyValue(v);
      }
      for (const k of this.#spec.keys) {
        if (merged[k] === undefined) throw new Error(`${who}: param_groups[${gi}] lacks option ${toSnake(k)}; was it saved by another optimizer?`);
      }
      this.#spec.check(merged as O, `${who} param_groups[${gi}]`);
      return merged;
    });
    const made: Tensor[] = [];
    const next = new Map<Tensor, ParamState>();
    try {
      for (const [key, entry] of Object.entries(sd.state)) {
        const p = byIndex.get(Number(key));
        if (!p) throw new Error(`${who}: state has an entry for parameter ${key}, which no param group lists`);
        next.set(p, this.#loadEntry(who, key, p, entry, made));
      }
    } catch (e) {
      for (const t of made) t.dispose();
      throw e;
    }
    this.#freeState();
    for (const [p, s] of next) this.state.set(p, s);
    options.forEach((o, gi) => {
      const params = this.paramGroups[gi]!.params;
      this.paramGroups[gi] = { ...o, params } as ParamGroup<O>;
    });
  }

  #loadEntry(who: string, key: string, p: Tensor, entry: ParamState, made: Tensor[]): ParamState {
    const out: ParamState = {};
    const [dtype, device, shape] = [p.dtype, p.device, p.shape];
    for (const [name, v] of Object.entries(entry ?? {})) {
      if (v instanceof Tensor) {
        if (name === 'step') {
          out.step = v.item(); // PyTorch keeps the step as a float32 scalar tensor
          continue;
        }
        if (v.shape.join() !== shape.join()) {
          throw new Error(`${who}: state[${key}].${name} has shape [${v.shape}] but the parameter has [${shape}]; the parameter order differs from the saved one`);
        }
        const t = keep(noGrad(() => v.to({ dtype: isFloating(v.dtype) ? dtype : undefined, device, copy: true })));
        made.push(t);
        out[name] = t;
      } else if (v === null || typeof v === 'number' || typeof v === 'boolean') {
        out[name] = v;
      } else {
        throw new Error(`${who}: state[${key}].${name} must be a Tensor, number, boolean or null, got ${typeof v}`);
      }
    }
    return out;
  }

  #freeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }

  #live(what: string): void {
    if (this.#disposed) throw new Error(`${this.#spec.name}.${what}: the optimizer was disposed; build a new one`);
  }

  /** Frees the state tensors (exp_avg, momentum buffers, ...). The parameters are untouched. */
  dispose(): void {
    this.#freeState();
    this.#disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

// ---- checkpoints: tensors into safetensors, the rest into JSON ----

export type StateJsonValue = number | boolean | null | { tensor: string };

/** The JSON half of a state dict: tensor values are replaced by `{ tensor: name }`. */
export interface OptimizerStateJson {
  state: Record<string, Record<string, StateJsonValue>>;
  param_groups: OptimizerStateDict['param_groups'];
}

/**
 * Splits a state dict into plain JSON and named tensors (`<prefix>state.<index>.<key>`), e.g. to
 * write the tensors into a safetensors file beside a JSON file. The tensors are the dict's own.
 */
export function splitStateDict(sd: OptimizerStateDict, prefix = ''): { json: OptimizerStateJson; tensors: Record<string, Tensor> } {
  const tensors: Record<string, Tensor> = {};
  const state: OptimizerStateJson['state'] = {};
  for (const [i, entry] of Object.entries(sd.state)) {
    state[i] = {};
    for (const [k, v] of Object.entries(entry)) {
      if (v instanceof Tensor) {
        const name = `${prefix}state.${i}.${k}`;
        tensors[name] = v;
        state[i][k] = { tensor: name };
      } else state[i][k] = v;
    }
  }
  return { json: { state, param_groups: JSON.parse(JSON.stringify(sd.param_groups)) as OptimizerStateJson['param_groups'] }, tensors };
}

/** Reassembles what splitStateDict made (the tensors are used as they are, not copied). */
export function joinStateDict(json: OptimizerStateJson, tensors: Record<string, Tensor>): OptimizerStateDict {
  const state: Record<number, ParamState> = {};
  for (const [i, entry] of Object.entries(json.state)) {
    state[Number(i)] = Object.fromEntries(
      Object.entries(entry).map(([k, v]) => {
        if (v === null || typeof v !== 'object') return [k, v];
        const t = tensors[v.tensor];
        if (!t) throw new Error(`joinStateDict: state.${i}.${k} refers to tensor "${v.tensor}", which is not among the ${Object.keys(tensors).length} tensors given; load the tensors file saved with this JSON`);
        return [k, t];
      }),
    );
  }
  return { state, param_groups: json.param_groups };
}

/** Disposes every tensor handle in a state dict (what stateDict() returned). */
export function disposeStateDict(sd: OptimizerStateDict): void {
  for (const entry of Object.values(sd.state)) for (const v of Object.values(entry)) if (v instanceof Tensor) v.dispose();
}
