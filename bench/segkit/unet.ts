// segkit's runner for unet-train and unet-infer (bench/README.md's protocol): the UNet of
// BENCH.md, channels-last (segkit's layout choice on CPU), batch of random images.
import * as torch from '../../src/torch/index.js';
import { UNet } from '../../src/models/unet.js';
import { AdamW } from '../../src/optim/index.js';
import { fuseConvBn } from '../../src/nn/index.js';
import { emitResult, parseRunnerFlags, timeSteps } from '../harness/protocol.js';

const flags = parseRunnerFlags(process.argv.slice(2), { batch: 8, size: 256 }, ['layout']);
const mode = flags.mode ?? 'train';
if (mode !== 'train' && mode !== 'infer') throw new Error(`--mode must be train or infer, got "${mode}"`);
const layout = flags.rest.layout ?? 'cl';
torch.setNumThreads(flags.threads);
torch.manualSeed(0);

const model = new UNet({ inChannels: 3, numClasses: 4, baseWidth: 32, depth: 4 });
if (layout === 'cl') model.toChannelsLast();
const x = torch.tidy(() => {
  const r = torch.randn([flags.batch, 3, flags.size, flags.size]);
  return layout === 'cl' ? r.contiguous('channels_last') : r;
});
const target = torch.randint(0, 4, [flags.batch, flags.size, flags.size]);

let step: () => void;
if (mode === 'train') {
  model.train();
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  step = () => {
    torch.tidy(() => {
      opt.zeroGrad();
      const loss = torch.F.crossEntropy(model.call(x).out, target);
      loss.backward();
      opt.step();
    });
  };
} else {
  // inference folds each BatchNorm into its conv (exact in eval mode): one pass less per block
  fuseConvBn(model);
  step = () => torch.inferenceMode(() => model.call(x).out.dispose());
}

const times = await timeSteps(step, flags.reps, flags.warmup, `segkit unet-${mode}`);
emitResult({ workload: `unet-${mode}`, runner: 'segkit', batch: flags.batch, threads: flags.threads, times, size: flags.size, layout, fused_bn: mode === 'infer' });
