// segkit's twin of gen_nn.py's Net: the same attribute names in the same order.
import * as nn from '../../src/nn/index.js';
import { Tensor, tensor, zeros, tidy } from '../../src/torch/index.js';

export class Block extends nn.Module {
  conv = new nn.Conv2d(4, 4, 3, { padding: 1, bias: false });
  bn = new nn.BatchNorm2d(4);
  act = new nn.ReLU();

  override forward(x: Tensor): Tensor {
    return tidy(() => x.add(this.act.forward(this.bn.forward(this.conv.forward(x)))));
  }
}

export class Net extends nn.Module {
  stem = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU({ inplace: true }), new nn.MaxPool2d(2));
  blocks = new nn.ModuleList([new Block(), new Block()]);
  heads = new nn.ModuleDict({ seg: new nn.Conv2d(4, 5, 1), aux: new nn.Sequential(new nn.Dropout(0.1), new nn.Conv2d(4, 2, 1)) });
  norm = new nn.GroupNorm(2, 4);
  pool = new nn.AdaptiveAvgPool2d(1);
  fc = new nn.Linear(4, 3);
  declare scale: Tensor;

  constructor() {
    super();
    this.registerBuffer('scale', tensor([0.5, 1.0, 2.0]));
    this.registerBuffer('scratch', zeros([1]), { persistent: false });
  }

  override forward(input: Tensor): { seg: Tensor; aux: Tensor; cls: Tensor } {
    return tidy(() => {
      let x = this.stem.forward(input);
      for (const b of this.blocks) x = b.forward(x);
      x = this.norm.forward(x);
      const seg = this.heads.get('seg').forward(x);
      const aux = this.heads.get('aux').forward(x);
      const cls = this.fc.forward(this.pool.forward(x).flatten(1)).mul(this.scale);
      return { seg, aux, cls };
    });
  }
}
