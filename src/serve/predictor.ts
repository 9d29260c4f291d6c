// The served model: what `segkit predict` runs for one image (normalise, predictProbabilities with
// the test-time options, classIds) through the model's forward pass (libtorch on segkit's compute
// thread, or ONNX Runtime), one request at a time, with every tensor of a request freed before its
// answer goes out. The answers (mask, colour mask, overlay, class counts) are built from the
// predicted class ids by the same helpers predict uses.
import { inferenceMode, tensor, type Tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { classIds, predictProbabilities, type InferenceOptions } from '../predict/inference.js';
import { moduleForward, type Forward } from '../predict/forward.js';
import { normalizeImage, type NormalizeParams } from '../data/transforms/normalize.js';
import { backgroundSkip, colorizeMask, overlayMask, type Palette } from '../data/overlay.js';
import type { ImageBuffer, MaskBuffer } from '../data/types.js';
import { encodeImage } from '../io/image.js';

/**
 * A model ready to serve, as `loadModel` of the command line gives it (`forward` and `dispose`:
 * libtorch or ONNX Runtime), or a libtorch Module (`model`) alone.
 */
export interface ServedModel {
  /** The forward pass (normalised batch in, logits out, as loadModel gives it). Default: `model`'s. */
  forward?: Forward;
  /** A libtorch model in eval mode, run when no `forward` is given. */
  model?: Module;
  /** Frees the model (and an ONNX Runtime session); awaited when the server closes. Default: `model.dispose()`. */
  dispose?: () => void | Promise<void>;
  /** The normalisation it was trained with (values in [0, 1]). */
  normalize: NormalizeParams;
  /** Class names by id (JSON answers name classes by them; missing ones are `class <id>`). */
  classes?: string[];
  /** Colours by class id for colour masks and overlays. */
  palette: Palette;
  /** Test-time scales, flip and sliding windows, as `segkit predict` takes them. */
  inference?: InferenceOptions;
  /** One-channel (sigmoid) models: foreground at this probability or above (default 0.5). */
  threshold?: number;
  /** What /readyz and JSON answers call the model. */
  name?: string;
}

export const FORMATS = ['mask', 'color', 'overlay', 'json'] as const;
export type Format = (typeof FORMATS)[number];

export interface ClassCount {
  id: number;
  name: string;
  pixels: number;
}

export class Predictor {
  /** Classes the model predicts (2 for a one-channel model); known after warmUp. */
  numClasses = 0;
  private readonly forward: Forward;

  constructor(readonly served: ServedModel) {
    if (served.forward) this.forward = served.forward;
    else if (served.model) this.forward = moduleForward(served.model);
    else throw new TypeError("createServer: the served model needs a forward function (loadModel's forward) or a libtorch model (model)");
  }

  /** One inference on a grey image of `size`: checks the class count and primes the allocator and kernels. */
  async warmUp(size: number): Promise<void> {
    const probs = await this.probabilities(new Float32Array(3 * size * size), 3, size, size);
    const classes = probs.shape[1]!;
    probs.dispose();
    if (classes > 256) throw new Error(`the model predicts ${classes} classes; index masks hold 256 at most`);
    this.numClasses = classes === 1 ? 2 : classes;
  }

  /** Class ids for `image` at its own size. Run one at a time (the compute queue does). */
  async predict(image: ImageBuffer): Promise<MaskBuffer> {
    const { normalize, threshold } = this.served;
    const { width, height } = image;
    const input = normalizeImage(image, normalize);
    const probs = await this.probabilities(input.data, input.channels, height, width);
    let ids: Tensor;
    try {
      ids = inferenceMode(() => classIds(probs, threshold));
    } finally {
      probs.dispose();
    }
    try {
      return { data: ids.data() as Uint8Array, width, height };
    } finally {
      ids.dispose();
    }
  }

  /** predictProbabilities for one normalised image (channels first); the caller disposes the result. */
  private async probabilities(data: Float32Array, channels: number, height: number, width: number): Promise<Tensor> {
    const x = tensor(data, { shape: [1, channels, height, width] });
    try {
      return await predictProbabilities(this.forward, x, this.served.inference);
    } finally {
      x.dispose();
    }
  }

  /** Class names by id, one per class the model predicts (`class <id>` where none is given). */
  classNames(): string[] {
    return Array.from({ length: this.numClasses }, (_, id) => this.served.classes?.[id] ?? `class ${id}`);
  }

  /** Pixels per class id, every class of the model listed (zeros included). */
  classCounts(mask: MaskBuffer): ClassCount[] {
    const counts = new Array<number>(this.numClasses).fill(0);
    for (const id of mask.data) counts[id] = (counts[id] ?? 0) + 1;
    const names = this.classNames();
    return Array.from(counts, (pixels, id) => ({ id, name: names[id] ?? `class ${id}`, pixels: pixels ?? 0 }));
  }

  /** The PNG answer: the index mask (class ids as grey values), the colour mask, or the overlay. */
  encode(format: Exclude<Format, 'json'>, image: ImageBuffer, mask: MaskBuffer): Promise<Buffer> {
    const { palette } = this.served;
    if (format === 'mask') return encodeImage(mask, 'png');
    if (format === 'color') return encodeImage(colorizeMask(mask, palette), 'png');
    return encodeImage(overlayMask(image, mask, palette, 0.5, { skip: backgroundSkip(palette) }), 'png');
  }

  /** Frees the model (and closes an ONNX Runtime session): `served.dispose`, else `model.dispose()`. */
  async dispose(): Promise<void> {
    if (this.served.dispose) await this.served.dispose();
    else this.served.model?.dispose();
  }
}
