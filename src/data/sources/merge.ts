// Merge several datasets into one. Ids get the source name as prefix ("voc/2007_000032") so
// they stay unique, refs carry meta.source, and each source keeps its own label map and mask
// mode as long as all of them agree on the classes (the same train ids mean the same thing).
import type { DatasetSpec } from '../dataset.js';
import type { SampleRef } from '../types.js';

/** Merge named dataset specs, in the order given. */
export function mergeSources(parts: Record<string, DatasetSpec>): DatasetSpec {
  const names = Object.keys(parts);
  if (names.length === 0) throw new Error('mergeSources: no datasets to merge');
  const refs: SampleRef[] = [];
  const sources: NonNullable<DatasetSpec['sources']> = {};
  let classes: { from: string; list: string[] } | undefined;
  for (const name of names) {
    if (!/^[\w.-]+$/.test(name)) throw new Error(`merge: source name "${name}" must be letters, digits, _ . - (it prefixes sample ids)`);
    const part = parts[name];
    const list = part.labelMap?.classes;
    if (list) {
      if (!classes) classes = { from: name, list };
      else if (JSON.stringify(list) !== JSON.stringify(classes.list)) {
        throw new Error(`merge: "${name}" has classes [${list.join(', ')}] but "${classes.from}" has [${classes.list.join(', ')}]; give both label maps the same class list (map their raw values onto the same train ids)`);
      }
    }
    // A source that is itself merged keeps its inner names: "outer/inner".
    for (const ref of part.refs) {
      const inner = ref.meta?.source;
      const source = inner !== undefined ? `${name}/${inner}` : name;
      refs.push({ ...ref, id: `${name}/${ref.id}`, meta: { ...ref.meta, source } });
      if (!(source in sources)) {
        const over = inner !== undefined ? part.sources?.[inner] : undefined;
        sources[source] = {
          ...(over?.labelMap ?? part.labelMap ? { labelMap: over?.labelMap ?? part.labelMap } : {}),
          ...(over?.maskMode ?? part.maskMode ? { maskMode: over?.maskMode ?? part.maskMode } : {}),
        };
      }
    }
  }
  const first = parts[names[0]];
  const withMap = names.map((n) => parts[n]).find((p) => p.labelMap);
  const limits = names.map((n) => parts[n].maxPixels).filter((v): v is number => v !== undefined);
  return {
    refs,
    ...(withMap?.labelMap ? { labelMap: withMap.labelMap } : {}),
    ...(names.some((n) => parts[n].instances) ? { instances: true } : {}),
    ...(limits.length ? { maxPixels: Math.min(...limits) } : {}),
    ...(first.onBadFile ? { onBadFile: first.onBadFile } : {}),
    ...(first.coco ? { coco: first.coco } : {}),
    sources,
  };
}
