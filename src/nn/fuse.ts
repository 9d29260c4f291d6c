// Inference-time fusion: fold each BatchNorm2d (or FrozenBatchNorm2d) that directly follows a Conv2d (inside a
// Sequential, or as a pair the module declares with convBnPairs) into that conv's weight and
// bias, so eval skips a full pass over the activation.
// Eval only: the fused model computes what the original computes in eval mode, and has other
// state-dict keys (the BatchNorm becomes an Identity), so save weights before fusing.
import { noGrad, tidy } from '../torch/index.js';
import type { Module } from './module.js';
import { Sequential } from './containers.js';
import { Conv2d } from './conv.js';
import { BatchNorm2d, FrozenBatchNorm2d } from './norm.js';
import { Identity } from './misc.js';
import { parameter } from './parameter.js';

/**
 * Fold conv → BatchNorm2d pairs (eval statistics) into the conv, in place, for every Sequential
 * inside `model`. Returns how many pairs were fused. The model is put in eval mode.
 */
export function fuseConvBn(model: Module): number {
  model.eval();
  let fused = 0;
  for (const m of model.modules()) {
    for (const [convName, bnName] of pairsOf(m)) {
      const conv = m._modules.get(convName);
      const bn = m._modules.get(bnName);
      if (!(conv instanceof Conv2d) || !(bn instanceof BatchNorm2d || bn instanceof FrozenBatchNorm2d)) continue;
      if (bn.running_mean === undefined || bn.running_var === undefined) continue;
      foldInto(conv, bn);
      m.registerModule(bnName, new Identity());
      fused++;
    }
  }
  return fused;
}

// Adjacent children of a Sequential, and the pairs a module declares (ResNet's conv1/bn1).
function pairsOf(m: Module): [string, string][] {
  if (!(m instanceof Sequential)) return m.convBnPairs();
  const names = [...m._modules.keys()];
  return names.slice(1).map((bn, i) => [names[i], bn]);
}

function foldInto(conv: Conv2d, bn: BatchNorm2d | FrozenBatchNorm2d): void {
  noGrad(() => {
    const [w, b] = tidy(() => {
      // scale = gamma / sqrt(var + eps); W' = W * scale; b' = (b - mean) * scale + beta
      let scale = bn.running_var!.add(bn.eps).rsqrt();
      if (bn.weight) scale = scale.mul(bn.weight);
      const w = conv.weight.mul(scale.reshape([-1, 1, 1, 1])).contiguous(conv.weight.info().channelsLast ? 'channels_last' : 'contiguous');
      let b = (conv.bias ?? bn.running_mean!.mul(0)).sub(bn.running_mean!).mul(scale);
      if (bn.bias) b = b.add(bn.bias);
      return [w, b];
    });
    conv.weight.copy_(w);
    w.dispose();
    if (conv.bias) {
      conv.bias.copy_(b);
      b.dispose();
    } else {
      conv.bias = parameter(b);
      conv.bias.requiresGrad_(conv.weight.requiresGrad); // a frozen conv stays frozen
    }
  });
}
