// The main job, for now: train the benchmark UNet for a few steps on a fixed batch of random
// images and print the loss going down (the model memorises the batch). Each step runs on
// segkit's compute thread, so the progress bar keeps drawing while libtorch works.
import { SingleBar, Presets } from 'cli-progress';
import * as torch from './torch/index.js';
import { UNet } from './models/unet.js';
import { AdamW } from './optim/index.js';

const steps = Number(process.env.SEGKIT_DEMO_STEPS ?? 25);
const [batch, size, classes] = [4, 64, 4];

torch.manualSeed(0);
const info = torch.buildInfo();
console.log(`segkit demo: libtorch ${info.torchVersion}, ${torch.getNumThreads()} threads`);

const model = new UNet({ inChannels: 3, numClasses: classes, baseWidth: 32, depth: 4 }).toChannelsLast();
const optimizer = new AdamW(model.parameters(), { lr: 3e-3 });
const images = torch.tidy(() => torch.randn([batch, 3, size, size]).contiguous('channels_last'));
const masks = torch.randint(0, classes, [batch, size, size]);
let afterFirst = torch.memory();

const bar = new SingleBar({ format: 'training |{bar}| {value}/{total} steps | loss {loss}', hideCursor: true }, Presets.shades_classic);
bar.start(steps, 0, { loss: '-' });
const losses: number[] = [];
for (let i = 0; i < steps; i++) {
  const loss = await torch.runAsync(() =>
    torch.tidy(() => {
      optimizer.zeroGrad();
      const logits = model.forward(images);
      const l = torch.F.crossEntropy(logits, masks);
      l.backward();
      optimizer.step();
      return l;
    }),
  );
  losses.push(loss.item());
  loss.dispose();
  bar.update(i + 1, { loss: losses[i].toFixed(4) });
  if (i === 0) afterFirst = torch.memory(); // the optimizer's state now exists
}
bar.stop();

const after = torch.memory();
console.log(`loss: first ${losses[0].toFixed(4)}, last ${losses[losses.length - 1].toFixed(4)}`);
for (let i = 0; i < losses.length; i += 5) console.log(`  step ${String(i + 1).padStart(3)}  loss ${losses[i].toFixed(4)}`);
console.log(`native tensors: ${afterFirst.tensors} after step 1, ${after.tensors} after step ${steps} (steady: ${afterFirst.tensors === after.tensors})`);
optimizer.dispose();
model.dispose();
images.dispose();
masks.dispose();
if (!(losses[losses.length - 1] < losses[0])) {
  console.error('demo: the loss did not go down');
  process.exitCode = 1;
}
