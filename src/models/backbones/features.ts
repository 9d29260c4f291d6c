// Feature extraction: a backbone cut after its last needed layer that returns named intermediate
// maps, as torchvision's IntermediateLayerGetter does. It keeps the backbone's child names, so a
// segmentation model holding it as `backbone` has keys `backbone.layer1.0.conv1.weight`, exactly
// torchvision's.
import { Tensor } from '../../torch/index.js';
import { Module, ModuleDict, isModuleTensor, takeChild } from '../../nn/index.js';

/** Feature maps by the names asked for, e.g. `{ out, aux }` or `{ low, high }`. */
export type Features = Record<string, Tensor>;

export class IntermediateLayerGetter extends ModuleDict {
  /** child name → output name */
  readonly returnLayers: ReadonlyMap<string, string>;

  /**
   * Takes the children of `model` in order up to the last one named in `returnLayers` (child
   * name → output name) and disposes the rest of `model` (a classifier's pooling and fc).
   */
  constructor(model: Module, returnLayers: Record<string, string>) {
    const names = model.namedChildren().map(([n]) => n);
    const missing = Object.keys(returnLayers).filter((n) => !names.includes(n));
    if (missing.length > 0) throw new Error(`IntermediateLayerGetter: ${model.constructor.name} has no child ${missing.map((n) => `'${n}'`).join(', ')}; its children are ${names.join(', ')}`);
    const last = Math.max(...Object.keys(returnLayers).map((n) => names.indexOf(n)));
    super(names.slice(0, last + 1).map((n) => [n, takeChild(model, n)!] as [string, Module]));
    model.dispose();
    this.returnLayers = new Map(Object.entries(returnLayers));
  }

  /** Runs the layers in order; returns the maps of the layers asked for. */
  override forward(x: Tensor): Features {
    const out: Features = {};
    let cur = x;
    for (const [name, m] of this.entries()) {
      const next: Tensor = m.call(cur);
      // free what no later layer reads (the input and returned maps stay)
      if (cur !== x && cur !== next && !isReturned(out, cur) && !isModuleTensor(cur)) cur.dispose();
      cur = next;
      const as = this.returnLayers.get(name);
      if (as !== undefined) out[as] = cur;
    }
    return out;
  }
}

const isReturned = (out: Features, t: Tensor): boolean => Object.values(out).includes(t);
