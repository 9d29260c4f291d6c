// The state dict of a pickled nn.Module (torch.save(model)), read from inert records.
//
// torch.save(model) pickles each module as its class and its __dict__, which pickle.ts keeps as
// a PyRecord: the class name and the dict, nothing run. In that dict `_parameters`, `_buffers`
// and `_modules` are OrderedDicts and `_non_persistent_buffers_set` is a set. moduleStateDict
// walks them the way nn.Module.state_dict() does: a module's parameters, then its persistent
// buffers, then each child's entries under '<child>.'; None entries are skipped and a module
// shared by two parents appears under both names. What only running the model's code could add
// (state-dict hooks, get_extra_state) is not reproduced.

import { type RawTensor, isRawTensor } from './raw.js';
import { PyRecord, describe } from './pickle.js';

/** Deeper module trees than this are malformed or hostile (and would exhaust the JS stack). */
const MAX_DEPTH = 1000;

/** A record of an nn.Module: its attributes hold the _parameters, _buffers and _modules dicts. */
export function isModuleRecord(value: unknown): value is PyRecord {
  if (!(value instanceof PyRecord)) return false;
  const attrs = value.attributes();
  return ['_parameters', '_buffers', '_modules'].every((k) => attrs.get(k) instanceof Map);
}

/**
 * Why `value` is a tensor segkit cannot read, when it is one: a record of a torch rebuild
 * function not implemented in pth.ts (quantized, sparse, nested or meta tensors).
 */
export function unreadableTensor(value: unknown): string | undefined {
  if (!(value instanceof PyRecord)) return undefined;
  const { module, name } = value.type;
  if (!module.startsWith('torch') || !name.startsWith('_rebuild')) return undefined;
  return `a tensor rebuilt by ${value.className} (quantized, sparse, nested or meta tensors), which segkit does not read`;
}

/** The module tree's tensors under PyTorch's state-dict keys, in PyTorch's order. */
export function moduleStateDict(root: PyRecord, source: string): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  walk(root, '', out, source, new Set());
  return out;
}

function walk(module: PyRecord, prefix: string, out: Map<string, RawTensor>, source: string, ancestors: Set<PyRecord>): void {
  const where = prefix === '' ? `the pickled ${module.className}` : `${prefix.slice(0, -1)} (${module.className})`;
  if (ancestors.has(module)) throw new Error(`${source}: ${where} contains itself; a module tree cannot be a cycle`);
  if (ancestors.size >= MAX_DEPTH) throw new Error(`${source}: the pickled module tree is deeper than ${MAX_DEPTH} levels (a malformed file)`);
  const attrs = module.attributes();
  const skipped = attrs.get('_non_persistent_buffers_set') ?? new Set();
  if (!(skipped instanceof Set)) throw new Error(`${source}: ${where}: _non_persistent_buffers_set is ${describe(skipped)}, not a set`);

  const own: [string, unknown][] = [
    ...entries(attrs.get('_parameters'), where, source),
    ...entries(attrs.get('_buffers'), where, source).filter(([name]) => !skipped.has(name)),
  ];
  for (const [name, value] of own) {
    if (value === null) continue;
    const key = prefix + name;
    if (!isRawTensor(value)) {
      throw new Error(`${source}: ${key} in ${where} is ${unreadableTensor(value) ?? describe(value)}, not a tensor`);
    }
    out.set(key, value);
  }

  ancestors.add(module);
  for (const [name, child] of entries(attrs.get('_modules'), where, source)) {
    if (child === null) continue;
    if (!isModuleRecord(child)) throw new Error(`${source}: submodule ${prefix}${name} of ${where} is ${describe(child)}, not a pickled nn.Module`);
    walk(child, `${prefix}${name}.`, out, source, ancestors);
  }
  ancestors.delete(module);
}

function entries(dict: unknown, where: string, source: string): [string, unknown][] {
  if (!(dict instanceof Map)) throw new Error(`${source}: ${where}: expected a dict of tensors or modules, got ${describe(dict)}`);
  for (const k of dict.keys()) if (typeof k !== 'string') throw new Error(`${source}: ${where}: entry name ${describe(k)} is not a string`);
  return [...dict] as [string, unknown][];
}
