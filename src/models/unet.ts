// UNet (Ronneberger et al. 2015) as in the Oxford-IIIT Pet report: each stage is
// (conv3x3 no bias, BatchNorm, ReLU) x2; 2x2 max-pool down; ConvTranspose2d(k=2, s=2) up,
// concatenated after the skip; a 1x1 head. State-dict keys match bench/peers/unet.py:
// enc1..encD, bottleneck, up{D..1}, dec{D..1}, head.
import { Tensor, F } from '../torch/index.js';
import { BatchNorm2d, Conv2d, ConvTranspose2d, MaxPool2d, Module, ReLU, Sequential } from '../nn/index.js';

/** (conv3x3 → BN → ReLU) x2, as `block.0` ... `block.5`. */
export class DoubleConv extends Module {
  block: Sequential;
  constructor(inChannels: number, outChannels: number) {
    super();
    this.block = new Sequential(
      new Conv2d(inChannels, outChannels, 3, { padding: 1, bias: false }),
      new BatchNorm2d(outChannels),
      new ReLU({ inplace: true }),
      new Conv2d(outChannels, outChannels, 3, { padding: 1, bias: false }),
      new BatchNorm2d(outChannels),
      new ReLU({ inplace: true }),
    );
  }
  override forward(x: Tensor): Tensor {
    return this.block.forward(x);
  }

  /**
   * forward(cat([a, b], 1)) without building the concatenation: the first conv is linear in its
   * input channels, so conv(cat(a, b), W) = conv(a, W[:, :Ca]) + conv(b, W[:, Ca:]). Same
   * result and parameters, one full-resolution copy fewer (in training autograd would keep it).
   */
  forwardJoined(a: Tensor, b: Tensor): Tensor {
    const conv = this.block.at(0) as Conv2d;
    const ca = a.shape[1];
    const w = conv.weight;
    const wa = w.narrow(1, 0, ca);
    const wb = w.narrow(1, ca, w.shape[1] - ca);
    const opts = { stride: conv.stride, padding: conv.padding, dilation: conv.dilation };
    let y = F.conv2d(a, wa, conv.bias, opts);
    const yb = F.conv2d(b, wb, undefined, opts);
    y.add_(yb);
    for (const t of [yb, wa, wb]) t.dispose();
    for (let k = 1; k < this.block.length; k++) {
      const next = this.block.at(k).forward(y);
      if (next !== y) y.dispose();
      y = next;
    }
    return y;
  }
}

export interface UNetOptions {
  inChannels?: number;
  numClasses?: number;
  /** Width of the first stage; each stage doubles it. */
  baseWidth?: number;
  /** Number of down-sampling stages. */
  depth?: number;
}

export class UNet extends Module {
  readonly depth: number;
  readonly numClasses: number;
  [stage: string]: unknown;

  constructor(opts: UNetOptions = {}) {
    super();
    const { inChannels = 3, numClasses = 2, baseWidth = 32, depth = 4 } = opts;
    if (!Number.isInteger(depth) || depth < 1) throw new Error(`UNet: depth must be a whole number >= 1, got ${depth}`);
    this.depth = depth;
    this.numClasses = numClasses;
    const widths = Array.from({ length: depth }, (_, i) => baseWidth * 2 ** i);
    let c = inChannels;
    for (let i = 0; i < depth; i++) {
      this[`enc${i + 1}`] = new DoubleConv(c, widths[i]);
      c = widths[i];
    }
    this.pool = new MaxPool2d(2);
    this.bottleneck = new DoubleConv(c, c * 2);
    c *= 2;
    for (let i = depth - 1; i >= 0; i--) {
      this[`up${i + 1}`] = new ConvTranspose2d(c, widths[i], 2, { stride: 2 });
      this[`dec${i + 1}`] = new DoubleConv(widths[i] * 2, widths[i]);
      c = widths[i];
    }
    this.head = new Conv2d(c, numClasses, 1);
  }

  private stage(name: string): Module {
    return this[name] as Module;
  }

  /** (N, C, H, W) → logits (N, numClasses, H, W). H and W must be multiples of 2^depth. */
  override forward(x: Tensor): Tensor {
    const [, , h, w] = x.shape;
    const m = 2 ** this.depth;
    if (h % m !== 0 || w % m !== 0) {
      const ph = Math.ceil(h / m) * m;
      const pw = Math.ceil(w / m) * m;
      throw new Error(`UNet: input ${h}x${w} is not a multiple of ${m} (depth ${this.depth}); pad or resize it to ${ph}x${pw}`);
    }
    // each intermediate is freed as soon as it is consumed (autograd keeps what backward needs)
    const skips: Tensor[] = [];
    let cur = x;
    for (let i = 1; i <= this.depth; i++) {
      const s = this.stage(`enc${i}`).forward(cur);
      if (cur !== x) cur.dispose();
      skips.push(s);
      cur = this.stage('pool').forward(s);
    }
    let y: Tensor = this.stage('bottleneck').forward(cur);
    if (cur !== x) cur.dispose();
    for (let i = this.depth; i >= 1; i--) {
      const up: Tensor = this.stage(`up${i}`).forward(y);
      y.dispose();
      const skip = skips.pop()!;
      y = (this.stage(`dec${i}`) as DoubleConv).forwardJoined(skip, up);
      skip.dispose();
      up.dispose();
    }
    const out: Tensor = this.stage('head').forward(y);
    y.dispose();
    return out;
  }
}
