// Adapting a model to a new task by parameter name: freeze and unfreeze (a backbone while the
// new head warms up), parameter groups with their own lr and weight decay (a backbone at 0.1x),
// and swapping a submodule (a new head) by its dotted path.
//
// Patterns: an exact name ('backbone.conv1.weight'), a module prefix ('backbone' matches
// 'backbone.layer1.0.conv1.weight'), a glob where '*' matches any run of characters, dots
// included ('backbone.layer4.*', '*.bn*.weight'), or a RegExp. A pattern that matches no
// parameter is an error naming it, so a typo cannot silently train everything.
import type { Tensor } from '../torch/index.js';
import { BatchNorm2d, Conv2d, Dropout, ReLU, Sequential, type Module } from '../nn/index.js';

export type NamePattern = string | RegExp;

function toRegExp(p: NamePattern): RegExp {
  // without 'g'/'y': those make test() resume from the last match, skipping names
  if (p instanceof RegExp) return p.global || p.sticky ? new RegExp(p.source, p.flags.replace(/[gy]/g, '')) : p;
  const glob = p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return p.includes('*') ? new RegExp(`^${glob}$`) : new RegExp(`^${glob}(\\..*)?$`);
}

/** Whether `name` matches any of `patterns` (see the file header for the pattern forms). */
export function matchesName(name: string, patterns: NamePattern | NamePattern[]): boolean {
  return (Array.isArray(patterns) ? patterns : [patterns]).some((p) => toRegExp(p).test(name));
}

/** The parameters whose names match, with their names; throws for a pattern that matches none. */
export function selectParameters(model: Module, patterns: NamePattern | NamePattern[]): [string, Tensor][] {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  const all = model.namedParameters();
  for (const p of list) {
    if (!all.some(([n]) => toRegExp(p).test(n))) {
      const tops = [...new Set(all.map(([n]) => n.split('.')[0]))].join(', ');
      throw new Error(`no parameter of ${model.constructor.name} matches '${String(p)}'; its top-level names are: ${tops} (a prefix such as 'backbone' or a glob such as 'backbone.layer4.*' works)`);
    }
  }
  return all.filter(([n]) => matchesName(n, list));
}

/** Stops gradients for the matching parameters; returns how many were frozen. */
export function freeze(model: Module, patterns: NamePattern | NamePattern[]): number {
  const sel = selectParameters(model, patterns);
  for (const [, p] of sel) p.requiresGrad_(false);
  return sel.length;
}

/** Lets the matching parameters train again; returns how many. */
export function unfreeze(model: Module, patterns: NamePattern | NamePattern[]): number {
  const sel = selectParameters(model, patterns);
  for (const [, p] of sel) p.requiresGrad_(true);
  return sel.length;
}

/** One rule of paramGroups: which parameters, and the options they get. */
export interface ParamGroupRule {
  params: NamePattern | NamePattern[];
  lr?: number;
  /** A multiple of the base lr (e.g. 0.1 for a pretrained backbone); ignored when lr is given. */
  lrScale?: number;
  weightDecay?: number;
  [option: string]: unknown;
}

/**
 * Optimizer param groups by name: each trainable parameter joins the first rule that matches it;
 * the rest form a last group with the optimizer's defaults. Frozen parameters are left out.
 * `paramGroups(model, [{ params: 'backbone', lrScale: 0.1 }], { lr: 0.01 })` trains the backbone
 * at 0.001 and everything else at the optimizer's lr.
 */
export function paramGroups(model: Module, rules: ParamGroupRule[], base: { lr?: number } = {}): Array<{ params: Tensor[]; [option: string]: unknown }> {
  const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad);
  for (const r of rules) selectParameters(model, r.params); // every pattern must match something
  const groups = rules.map(() => [] as Tensor[]);
  const rest: Tensor[] = [];
  for (const [name, p] of trainable) {
    const i = rules.findIndex((r) => matchesName(name, r.params));
    (i < 0 ? rest : groups[i]).push(p);
  }
  const out: Array<{ params: Tensor[]; [option: string]: unknown }> = [];
  rules.forEach((r, i) => {
    if (groups[i].length === 0) return;
    const { params: _p, lrScale, ...options } = r;
    if (lrScale !== undefined && options.lr === undefined) {
      if (base.lr === undefined) throw new Error(`paramGroups: rule for '${String(r.params)}' has lrScale ${lrScale} but no base lr was given (pass { lr } as the third argument)`);
      options.lr = base.lr * lrScale;
    }
    for (const k of Object.keys(options)) if (options[k] === undefined) delete options[k];
    out.push({ params: groups[i], ...options });
  });
  if (rest.length > 0) out.push({ params: rest });
  return out;
}

/**
 * Puts `replacement` at a dotted path ('classifier.4', 'aux_classifier') and disposes what was
 * there (PyTorch's set_submodule): replacing a head keeps every other weight.
 */
export function replaceModule(model: Module, path: string, replacement: Module): void {
  const dot = path.lastIndexOf('.');
  const parent = dot < 0 ? model : model.getSubmodule(path.slice(0, dot));
  const name = path.slice(dot + 1);
  if (!parent._modules.has(name)) {
    throw new Error(`${parent.constructor.name} has no child '${name}' (path '${path}'); its children are: ${[...parent._modules.keys()].join(', ') || 'none'}`);
  }
  parent.registerModule(name, replacement);
}

/** Options of `convHead`. */
export interface ConvHeadOptions {
  /** Channels of the 3x3 conv (default 256). */
  hidden?: number;
  /** Dropout before the last 1x1 conv (default 0.5). */
  dropout?: number;
}

/**
 * Report 000's head: conv 3x3 (padding 1, keeps the size), BatchNorm, ReLU, Dropout, conv 1x1 to
 * `outChannels`. Its keys are `0.weight, 0.bias, 1.*, 4.weight, 4.bias` (Sequential's indices).
 */
export function convHead(inChannels: number, outChannels: number, opts: ConvHeadOptions = {}): Sequential {
  const { hidden = 256, dropout = 0.5 } = opts;
  return new Sequential(new Conv2d(inChannels, hidden, 3, { padding: 1 }), new BatchNorm2d(hidden), new ReLU(), new Dropout(dropout), new Conv2d(hidden, outChannels, 1));
}

/**
 * Replaces the conv at `path` (e.g. DeepLabv3's last 1x1 conv, 'classifier.4') by `convHead`
 * with the conv's input channels and `outChannels` outputs; returns the new head.
 */
export function replaceWithConvHead(model: Module, path: string, outChannels: number, opts: ConvHeadOptions = {}): Sequential {
  let old: Module;
  try {
    old = model.getSubmodule(path);
  } catch (e) {
    throw new Error(`head: ${model.constructor.name} has no submodule '${path}' (${(e as Error).message})`, { cause: e });
  }
  if (!(old instanceof Conv2d)) {
    throw new Error(`head: '${path}' is a ${old.constructor.name}, not a Conv2d; point it at the model's last conv (for torchvision's DeepLabv3 and FCN: 'classifier.4')`);
  }
  const head = convHead(old.inChannels, outChannels, opts);
  replaceModule(model, path, head);
  return head;
}
