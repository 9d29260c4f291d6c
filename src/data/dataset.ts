// The dataset abstraction: a list of sample references plus how to decode them, described by a
// JSON-serialisable `DatasetSpec` so a worker thread can rebuild the same dataset from it.
import { BadFileError, DEFAULT_MAX_PIXELS, readImage, readMask } from '../io/image.js';
import { compiledLabelMap, LabelMap, type LabelMapSpec } from './labelmap.js';
import { cocoTargets, COCO_META_KEY } from './sources/coco.js';
import type { Sample, SampleRef } from './types.js';

export { BadFileError } from '../io/image.js';

export type MaskMode = 'ids' | 'rgb';

/** JSON-serialisable description a worker thread can rebuild a dataset from. */
export interface DatasetSpec {
  refs: SampleRef[];
  /** How raw mask values become train ids. Absent: mask values are used as they are. */
  labelMap?: LabelMapSpec;
  /** The file the label map was read from (for messages), when it came from one. */
  labelMapFile?: string;
  /** 'ids': masks hold gray values / palette indices (default); 'rgb': colour masks. */
  maskMode?: MaskMode;
  /** Decode per-instance targets (COCO sources). Default false. */
  instances?: boolean;
  /** Refuse images above this many pixels, checked from the header. Default 268402689. */
  maxPixels?: number;
  /** Bad files (corrupt, truncated, empty, misnamed): throw ('fail', default) or skip and count. */
  onBadFile?: 'fail' | 'skip';
  /** Overrides for merged datasets, keyed by `ref.meta.source`. */
  sources?: Record<string, { labelMap?: LabelMapSpec; maskMode?: MaskMode }>;
  /** How COCO instances become a semantic mask: overlapping pixels and crowd regions. */
  coco?: CocoRenderOptions;
}

export interface CocoRenderOptions {
  /** Pixels covered by two or more instances: ignore index (default, as torchvision's reference) or the last one drawn. */
  overlap?: 'ignore' | 'last';
  /** Crowd regions: ignore index (default) or their class label. */
  crowd?: 'ignore' | 'label';
}


function settingsFor(ref: SampleRef, spec: DatasetSpec): { labelMap?: LabelMap; maskMode: MaskMode } {
  const over = ref.meta?.source !== undefined ? spec.sources?.[ref.meta.source] : undefined;
  const lmSpec = over?.labelMap ?? spec.labelMap;
  const maskMode = over?.maskMode ?? spec.maskMode ?? (lmSpec?.colors ? 'rgb' : 'ids');
  return { labelMap: compiledLabelMap(lmSpec), maskMode };
}

/**
 * Decode one sample: the image (RGB, 8-bit), its mask mapped to train ids, and instances when
 * `spec.instances`. Bad files throw `BadFileError` naming the file; label-map problems throw
 * an Error naming the mask, the value and its pixel count.
 */
export async function loadSample(ref: SampleRef, spec: DatasetSpec): Promise<Sample> {
  const maxPixels = spec.maxPixels ?? DEFAULT_MAX_PIXELS;
  const { labelMap, maskMode } = settingsFor(ref, spec);
  const image = await readImage(ref.imagePath, { maxPixels });
  const sample: Sample = { ref, image };

  if (ref.maskPath) {
    let mask;
    if (maskMode === 'rgb') {
      const rgb = await readImage(ref.maskPath, { maxPixels });
      if (!labelMap) throw new Error(`${ref.maskPath}: maskMode 'rgb' needs a labelMap with colors (or a palette) to turn colours into train ids`);
      mask = labelMap.mapRgb(rgb, ref.maskPath);
    } else {
      const raw = await readMask(ref.maskPath, { maxPixels });
      mask = labelMap ? labelMap.mapGray(raw, ref.maskPath) : raw;
    }
    if (mask.width !== image.width || mask.height !== image.height) {
      throw new BadFileError(
        ref.maskPath,
        `mask is ${mask.width}x${mask.height} but its image ${ref.imagePath} is ${image.width}x${image.height}; masks must match their image exactly (resize with nearest neighbour, never bilinear)`,
      );
    }
    sample.mask = mask;
  }

  const coco = ref.meta?.[COCO_META_KEY];
  if (coco !== undefined) {
    const t = cocoTargets(coco, ref, image.width, image.height, {
      semantic: !ref.maskPath,
      instances: spec.instances ?? false,
      ignoreIndex: labelMap?.ignoreIndex ?? 255,
      ...spec.coco,
    });
    if (t.semantic) sample.mask = t.semantic;
    if (t.instances) sample.instances = t.instances;
  }
  return sample;
}

/** `loadSample` under the spec's bad-file policy: null when the file is bad and the policy is 'skip'. */
export async function tryLoadSample(ref: SampleRef, spec: DatasetSpec): Promise<Sample | null> {
  try {
    return await loadSample(ref, spec);
  } catch (e) {
    if (spec.onBadFile === 'skip' && e instanceof BadFileError) return null;
    throw e;
  }
}

/** Random access to the samples of a spec. */
export class SegDataset {
  readonly spec: DatasetSpec;
  readonly labelMap?: LabelMap;
  /** Files skipped under onBadFile 'skip' by `tryGet`, with the reason. */
  readonly skipped: Array<{ ref: SampleRef; reason: string }> = [];

  constructor(spec: DatasetSpec) {
    this.spec = spec;
    this.labelMap = compiledLabelMap(spec.labelMap);
  }

  get length(): number {
    return this.spec.refs.length;
  }

  /** The train id that losses, metrics, padding and previews skip: the label map's, else 255. */
  get ignoreIndex(): number {
    return this.labelMap?.ignoreIndex ?? 255;
  }

  /** Class names by train id, when the label map names them. */
  get classes(): string[] | undefined {
    return this.labelMap?.classes;
  }

  ref(i: number): SampleRef {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`sample index ${i} out of range (dataset has ${this.length} samples)`);
    return this.spec.refs[i];
  }

  /** Decode sample i; throws on a bad file whatever the policy. */
  get(i: number): Promise<Sample> {
    return loadSample(this.ref(i), this.spec);
  }

  /** Decode sample i under the bad-file policy: null (and counted in `skipped`) when skipped. */
  async tryGet(i: number): Promise<Sample | null> {
    const ref = this.ref(i);
    try {
      return await loadSample(ref, this.spec);
    } catch (e) {
      if (this.spec.onBadFile === 'skip' && e instanceof BadFileError) {
        this.skipped.push({ ref, reason: e.message });
        return null;
      }
      throw e;
    }
  }

  /** A dataset over some of the samples (for splits), same settings. */
  subset(indices: readonly number[]): SegDataset {
    return new SegDataset({ ...this.spec, refs: indices.map((i) => this.ref(i)) });
  }

  /** The JSON-serialisable spec (a copy) that rebuilds this dataset in a worker. */
  toSpec(): DatasetSpec {
    return structuredClone(this.spec);
  }
}
