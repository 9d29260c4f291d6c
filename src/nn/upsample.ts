// Upsample: resizes (N, C, H, W) by a scale factor or to a size (F.interpolate as a layer).
import { Tensor, F } from '../torch/index.js';
import { Module } from './module.js';
import { pyFloat, type Pair } from './util.js';

export type UpsampleMode = 'nearest' | 'bilinear' | 'bicubic' | 'nearest-exact';

export interface UpsampleOptions {
  size?: Pair;
  scaleFactor?: number | [number, number];
  /** Default 'nearest'. */
  mode?: UpsampleMode;
  /** bilinear/bicubic only: align the corner pixels' centres (default false). */
  alignCorners?: boolean;
}

export class Upsample extends Module {
  readonly size: Pair | undefined;
  readonly scaleFactor: number | [number, number] | undefined;
  readonly mode: UpsampleMode;
  readonly alignCorners: boolean | undefined;

  constructor(opts: UpsampleOptions) {
    super();
    if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
      throw new Error('Upsample: give exactly one of size and scaleFactor');
    }
    this.size = opts.size;
    this.scaleFactor = opts.scaleFactor;
    this.mode = opts.mode ?? 'nearest';
    this.alignCorners = opts.alignCorners;
    if (this.alignCorners !== undefined && (this.mode === 'nearest' || this.mode === 'nearest-exact')) {
      throw new Error(`Upsample: alignCorners only applies to 'bilinear' and 'bicubic', not '${this.mode}'`);
    }
  }

  override forward(x: Tensor): Tensor {
    return F.interpolate(x, { size: this.size, scaleFactor: this.scaleFactor, mode: this.mode, alignCorners: this.alignCorners });
  }

  override extraRepr(): string {
    const s = this.scaleFactor;
    const info = s !== undefined
      ? `scale_factor=${typeof s === 'number' ? pyFloat(s) : `(${s.map(pyFloat).join(', ')})`}`
      : `size=${typeof this.size === 'number' ? this.size : `(${this.size!.join(', ')})`}`;
    return `${info}, mode=${this.mode}`;
  }
}
