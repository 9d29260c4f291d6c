// ConfusionMatrix: the streaming evaluator of semantic and binary segmentation. update() counts a
// batch in libtorch (./counts.ts) and adds it to a float64 matrix held in JS, and to the running
// sums of the per-image scores (./per-image.ts); compute() turns them into plain numbers.
//
// Two kinds of score, reported side by side:
// - dataset-level (`miou`, `dice`, ...): from the one matrix accumulated over every pixel of every
//   image; large images and frequent classes weigh more. This is what Cityscapes, Pascal VOC and
//   torchvision's references report.
// - per-image (`perImage.miou`, ...): each image scored on its own, then the mean over images;
//   every image weighs the same, and a class missed in a small image costs as much as in a large
//   one. Binary medical and defect datasets often report this one.
import type { Tensor } from '../torch/index.js';
import { batchCounts } from './counts.js';
import { addImage, emptySums, mergeSums, perImageScores, type PerImageScores, type PerImageSums } from './per-image.js';
import { classScores, summaryScores, type ClassScores, type SummaryScores } from './scores.js';

export interface ConfusionMatrixOptions {
  numClasses: number;
  /** Target value never counted (pixels outside every class); null: none. Default 255. */
  ignoreIndex?: number | null;
  /** Binary tasks with one output channel: probability above which a pixel is foreground. Default 0.5. */
  threshold?: number;
  /**
   * What a one-channel float prediction holds: 'logits' (default; compared with
   * log(t / (1 - t)), which equals sigmoid(x) > t without computing the sigmoid) or 'probabilities'.
   */
  binaryInput?: 'logits' | 'probabilities';
  /** The class whose Dice is `binaryDice`. Default 1 with 2 classes, none otherwise. */
  foregroundClass?: number;
}

/**
 * Everything compute() returns: per-class arrays (one entry per class), summaries, the matrix.
 * The top-level scores (`miou`, `dice`, `meanDice`, ...) are dataset-level: computed once from
 * the matrix summed over every counted pixel, so a large image weighs more than a small one.
 * `perImage` holds the same scores computed on each image alone and then averaged over images,
 * so every image weighs the same. The two differ whenever images differ in size or in how hard
 * they are; say which one a figure is.
 */
export interface SegmentationMetrics extends ClassScores, SummaryScores {
  numClasses: number;
  ignoreIndex: number | null;
  /** Dice of the foreground class (binary tasks), from the accumulated matrix. */
  binaryDice?: number;
  /** The accumulated counts: matrix[truth][prediction]. */
  matrix: number[][];
  /** The same scores computed image by image and averaged over images (see the file header). */
  perImage: PerImageScores;
}

/** What toJSON() writes: enough to resume an evaluation midway. */
export interface ConfusionMatrixJSON {
  format: 'segkit.confusion-matrix';
  version: 1;
  numClasses: number;
  ignoreIndex: number | null;
  threshold: number;
  binaryInput: 'logits' | 'probabilities';
  foregroundClass: number | null;
  /** Row-major counts, rows truth, columns prediction. */
  matrix: number[];
  perImage: PerImageSums;
}

const FORMAT = 'segkit.confusion-matrix';

export class ConfusionMatrix {
  readonly numClasses: number;
  readonly ignoreIndex: number | null;
  readonly threshold: number;
  readonly binaryInput: 'logits' | 'probabilities';
  readonly foregroundClass: number | undefined;
  #counts: Float64Array;
  #sums: PerImageSums;
  #disposed = false;

  constructor(options: ConfusionMatrixOptions) {
    const { numClasses, ignoreIndex = 255, threshold = 0.5, binaryInput = 'logits' } = options;
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`ConfusionMatrix: numClasses must be a whole number >= 1, got ${numClasses}`);
    if (ignoreIndex !== null && !Number.isInteger(ignoreIndex)) throw new RangeError(`ConfusionMatrix: ignoreIndex must be a whole number or null, got ${ignoreIndex}`);
    if (!(threshold > 0 && threshold < 1)) throw new RangeError(`ConfusionMatrix: threshold is a probability in (0, 1), got ${threshold}`);
    if (binaryInput !== 'logits' && binaryInput !== 'probabilities') throw new RangeError(`ConfusionMatrix: binaryInput must be 'logits' or 'probabilities', got '${binaryInput}'`);
    const fg = options.foregroundClass ?? (numClasses === 2 ? 1 : undefined);
    if (fg !== undefined && !(Number.isInteger(fg) && fg >= 0 && fg < numClasses)) throw new RangeError(`ConfusionMatrix: foregroundClass must be a class in [0, ${numClasses}), got ${fg}`);
    this.numClasses = numClasses;
    this.ignoreIndex = ignoreIndex;
    this.threshold = threshold;
    this.binaryInput = binaryInput;
    this.foregroundClass = fg;
    this.#counts = new Float64Array(numClasses * numClasses);
    this.#sums = emptySums(numClasses);
  }

  /**
   * Count one batch. `target`: (N, H, W) class indices (integer or bool; (N, 1, H, W) and a single
   * (H, W) image also work), pixels equal to `ignoreIndex` left out. `pred`, same images:
   * - class indices shaped like the target (integer or bool), or
   * - logits or probabilities (N, C, H, W): the argmax over C is the prediction, or
   * - with 2 classes, one map (N, 1, H, W) or (N, H, W) of logits or probabilities (see
   *   `binaryInput`), foreground where above `threshold`.
   * Works on any device; the inputs are not modified and no tensor is kept.
   */
  update(pred: Tensor, target: Tensor): this {
    this.#alive();
    const { images, counts } = batchCounts(pred, target, this);
    const CC = this.numClasses * this.numClasses;
    for (let n = 0; n < images; n++) {
      const image = counts.subarray(n * CC, (n + 1) * CC);
      for (let i = 0; i < CC; i++) this.#counts[i]! += image[i]!;
      addImage(this.#sums, image, this.numClasses);
    }
    return this;
  }

  /** The scores so far, as plain numbers (NaN where a score is undefined, see ClassScores). */
  compute(): SegmentationMetrics {
    this.#alive();
    const C = this.numClasses;
    const perClass = classScores(this.#counts, C);
    const out: SegmentationMetrics = {
      numClasses: C,
      ignoreIndex: this.ignoreIndex,
      ...summaryScores(this.#counts, perClass),
      ...perClass,
      matrix: this.matrix,
      perImage: perImageScores(this.#sums, this.foregroundClass),
    };
    if (this.foregroundClass !== undefined) out.binaryDice = perClass.dice[this.foregroundClass];
    return out;
  }

  /** The accumulated counts, matrix[truth][prediction]. */
  get matrix(): number[][] {
    const C = this.numClasses;
    return Array.from({ length: C }, (_, t) => Array.from(this.#counts.subarray(t * C, (t + 1) * C)));
  }

  reset(): this {
    this.#alive();
    this.#counts.fill(0);
    this.#sums = emptySums(this.numClasses);
    return this;
  }

  /**
   * Add another matrix's counts (same classes and ignore index), e.g. from another process: pass
   * the matrix or what its toJSON() wrote.
   */
  merge(from: ConfusionMatrix | ConfusionMatrixJSON): this {
    this.#alive();
    const other = from instanceof ConfusionMatrix ? from : ConfusionMatrix.fromJSON(from);
    other.#alive();
    if (other.numClasses !== this.numClasses || other.ignoreIndex !== this.ignoreIndex) {
      throw new RangeError(`ConfusionMatrix.merge: the other matrix has numClasses ${other.numClasses} and ignoreIndex ${other.ignoreIndex}, this one ${this.numClasses} and ${this.ignoreIndex}`);
    }
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]! += other.#counts[i]!;
    mergeSums(this.#sums, other.#sums);
    return this;
  }

  toJSON(): ConfusionMatrixJSON {
    this.#alive();
    return {
      format: FORMAT,
      version: 1,
      numClasses: this.numClasses,
      ignoreIndex: this.ignoreIndex,
      threshold: this.threshold,
      binaryInput: this.binaryInput,
      foregroundClass: this.foregroundClass ?? null,
      matrix: Array.from(this.#counts),
      perImage: structuredClone(this.#sums),
    };
  }

  /** A matrix from toJSON()'s object (or its JSON text), to carry on counting where it stopped. */
  static fromJSON(json: ConfusionMatrixJSON | string): ConfusionMatrix {
    const j = (typeof json === 'string' ? JSON.parse(json) : json) as ConfusionMatrixJSON;
    const bad = (what: string) => new TypeError(`ConfusionMatrix.fromJSON: ${what} (expected the object ConfusionMatrix.toJSON() writes, format '${FORMAT}' version 1)`);
    if (j?.format !== FORMAT || j.version !== 1) throw bad(`format '${j?.format}' version ${j?.version}`);
    const m = new ConfusionMatrix({
      numClasses: j.numClasses,
      ignoreIndex: j.ignoreIndex,
      threshold: j.threshold,
      binaryInput: j.binaryInput,
      foregroundClass: j.foregroundClass ?? undefined,
    });
    const C = m.numClasses;
    const counts = (xs: unknown, n: number, what: string): number[] => {
      if (!Array.isArray(xs) || xs.length !== n || !xs.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw bad(`${what} must be ${n} non-negative numbers`);
      return xs as number[];
    };
    m.#counts.set(counts(j.matrix, C * C, 'matrix'));
    const s = j.perImage;
    if (typeof s !== 'object' || s === null) throw bad('perImage is missing');
    const [images, emptyImages] = counts([s.images, s.emptyImages], 2, 'perImage.images and perImage.emptyImages');
    const [miouSum, meanDiceSum] = counts([s.miouSum, s.meanDiceSum], 2, 'perImage.miouSum and perImage.meanDiceSum');
    m.#sums = {
      images: images!,
      emptyImages: emptyImages!,
      miouSum: miouSum!,
      meanDiceSum: meanDiceSum!,
      iouSum: [...counts(s.iouSum, C, 'perImage.iouSum')],
      diceSum: [...counts(s.diceSum, C, 'perImage.diceSum')],
      presentImages: [...counts(s.presentImages, C, 'perImage.presentImages')],
    };
    return m;
  }

  /** Nothing native is held (counts live in JS); after dispose() the matrix refuses further use. */
  dispose(): void {
    this.#disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #alive(): void {
    if (this.#disposed) throw new Error('ConfusionMatrix used after dispose()');
  }
}
