// A detector's result (Detection: tensors) as plain arrays for drawing, files and COCO
// evaluation: boxes, labels and scores, masks thresholded at 0.5 (as torchvision's COCO
// evaluation does) into 0/1 planes of the image's size; and the selection by score.
import { tidy } from '../../torch/index.js';
import type { Detection } from '../../models/detection/types.js';

/** One image's detections as arrays, best first (the shape toCocoResults takes, less the image id). */
export interface DetectionArrays {
  boxes: Float32Array; // (K, 4) x1, y1, x2, y2, row-major
  labels: Int32Array; // (K) class ids 1..numClasses-1
  scores: Float32Array; // (K)
  masks?: Uint8Array[]; // K row-major (H, W) 0/1 planes
  height?: number; // the masks' size, when there are masks
  width?: number;
}

export interface ReadDetectionOptions {
  /** Keep detections scoring at least this. Default 0 (all). */
  scoreThreshold?: number;
  /** A mask pixel is inside when its probability is above this. Default 0.5. */
  maskThreshold?: number;
}

/**
 * Read a Detection's tensors (left to the caller to dispose). Masks must be the pasted
 * (K, 1, H, W) probabilities of the model's postprocess, not its 28x28 RoI masks.
 */
export function readDetection(det: Detection, opts: ReadDetectionOptions = {}): DetectionArrays {
  const K = det.scores.shape[0] ?? 0;
  if (det.boxes.shape.join() !== `${K},4` || det.labels.shape.join() !== `${K}`) {
    throw new Error(`readDetection: ${K} scores but boxes are [${det.boxes.shape}] and labels [${det.labels.shape}]; expected (${K}, 4) and (${K})`);
  }
  // Copies on the CPU in the wanted dtypes (the model may run on a GPU); the copies are freed by tidy.
  const out: DetectionArrays = tidy(() => ({
    boxes: det.boxes.to({ dtype: 'float32', device: 'cpu' }).data() as Float32Array,
    labels: det.labels.to({ dtype: 'int32', device: 'cpu' }).data() as Int32Array,
    scores: det.scores.to({ dtype: 'float32', device: 'cpu' }).data() as Float32Array,
  }));
  if (det.masks) {
    const s = det.masks.shape;
    if (s.length !== 4 || s[0] !== K || s[1] !== 1) throw new Error(`readDetection: masks are [${s}] but (${K}, 1, H, W) pasted probabilities are expected (run the model's postprocess)`);
    const [H, W] = [s[2]!, s[3]!];
    const thr = opts.maskThreshold ?? 0.5;
    const bits = tidy(() => det.masks!.gt(thr).to({ dtype: 'uint8', device: 'cpu' }).data() as Uint8Array);
    out.masks = Array.from({ length: K }, (_, k) => bits.slice(k * H * W, (k + 1) * H * W));
    out.height = H;
    out.width = W;
  }
  return selectByScore(out, opts.scoreThreshold ?? 0);
}

/** The detections scoring at least `threshold`, in their order. */
export function selectByScore(d: DetectionArrays, threshold: number): DetectionArrays {
  const keep: number[] = [];
  d.scores.forEach((s, k) => s >= threshold && keep.push(k));
  if (keep.length === d.scores.length) return d;
  const out: DetectionArrays = {
    boxes: Float32Array.from(keep.flatMap((k) => Array.from(d.boxes.subarray(4 * k, 4 * k + 4)))),
    labels: Int32Array.from(keep.map((k) => d.labels[k]!)),
    scores: Float32Array.from(keep.map((k) => d.scores[k]!)),
  };
  if (d.masks) {
    out.masks = keep.map((k) => d.masks![k]!);
    out.height = d.height;
    out.width = d.width;
  }
  return out;
}
