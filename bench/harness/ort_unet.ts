// ONNX Runtime peer: runs a model exported by bench/peers/export_onnx.py with onnxruntime-node
// on the CPU, and prints the runner protocol's JSON line (runner "ort").
//   node dist/bench/harness/ort_unet.js --onnx .cache/bench/unet.onnx --batch 8 --size 256 \
//     --reps 5 --threads 2 [--warmup 1] [--workload unet-infer]
// The same file runs the exported DeepLabv3 (--workload deeplabv3-infer --batch 1 --size 512).
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { emitResult, parseRunnerFlags, randomFloats, timeSteps } from './protocol.js';

async function main(): Promise<void> {
  const flags = parseRunnerFlags(process.argv.slice(2), { batch: 8, size: 256 }, ['onnx', 'workload']);
  const onnxPath = flags.rest.onnx ?? '.cache/bench/unet.onnx';
  const workload = flags.rest.workload ?? 'unet-infer';
  if (!existsSync(onnxPath)) {
    throw new Error(`ONNX model not found: ${onnxPath}; export it with /usr/bin/python3 bench/peers/export_onnx.py --out ${onnxPath}`);
  }
  const session = await ort.InferenceSession.create(onnxPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: flags.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const { batch, size } = flags;
  const input = new ort.Tensor('float32', randomFloats(batch * 3 * size * size), [batch, 3, size, size]);
  const feeds = { [session.inputNames[0]!]: input };
  const step = async (): Promise<void> => {
    const out = await session.run(feeds);
    for (const t of Object.values(out)) t.dispose();
  };
  const times = await timeSteps(step, flags.reps, flags.warmup, `ort ${workload}`);
  emitResult({ workload, runner: 'ort', batch, threads: flags.threads, times, size, onnx: onnxPath });
  await session.release();
}

main().catch((err: unknown) => {
  process.stderr.write(`ort_unet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
