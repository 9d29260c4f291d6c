// `segkit export`: a model with its weights as an ONNX file (opset 17, dynamic batch, height and
// width) that ONNX Runtime, onnxruntime-web and other ONNX tools run without segkit. What a
// program needs to use it travels in the file's metadata_props: the model and its options, the
// class names and colours, the normalisation and the input's layout.
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadTorchModel, numberList, positive, type ModelFlags } from './model-options.js';

interface ExportFlags {
  model?: string;
  weights?: string;
  numClasses?: number;
  labelMap?: string;
  mean?: number[];
  std?: number[];
  out?: string;
  opset: number;
  size: [number, number];
  static?: boolean;
  aux?: boolean;
  web?: string;
}

const sizePair = (v: string): [number, number] => {
  const m = /^(\d+)(?:x(\d+))?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`--size takes HxW or one side in pixels, e.g. 256x320 or 256, got "${v}"`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
};

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a model and its weights as an ONNX file (opset 17) for ONNX Runtime, the browser or other tools')
    .option('-w, --weights <file|name>', "a .safetensors/.pth file (best.safetensors of a segkit run carries its model, classes and normalisation), or a torchvision weight name ('DEFAULT')")
    .option('-m, --model <name>', 'model name, as models.create takes it (segkit models lists them); default: the one segkit train saved in --weights')
    .option('--num-classes <n>', "classes the weights were trained for (default: the run's, the label map's, else the model's default)", positive('--num-classes'))
    .option('--label-map <file>', 'label map (JSON/YAML) whose class names and colours go into the file (default: the weights\')')
    .option('--mean <r,g,b>', "normalisation mean in [0, 1] stored in the file (default: the weights', else ImageNet's)", numberList('--mean'))
    .option('--std <r,g,b>', "normalisation std in [0, 1] stored in the file (default: the weights', else ImageNet's)", numberList('--std'))
    .option('-o, --out <file>', 'the ONNX file to write (default model.onnx; with --web: DIR/model.onnx only)')
    .option('--web <dir>', 'also write a static page into dir that runs the model in the browser (ONNX Runtime Web): serve dir over HTTP and open it')
    .option('--opset <n>', 'ONNX opset (14 to 17)', (v) => Number(v), 17)
    .addOption(new Option('--size <HxW>', 'the example input the forward pass is recorded at; the graph takes any size unless --static').default([64, 64], '64x64').argParser(sizePair))
    .option('--static', 'fix batch 1 and --size in the graph instead of dynamic batch, height and width')
    .option('--aux', "also output the auxiliary head's logits as 'aux' (models built with auxLoss)")
    .addHelpText('after', `
The file holds one graph: input 'input' float32 [batch, channels, height, width], the image as
RGB in [0, 1] normalised with the stored mean/std; output 'out' float32 [batch, classes, height,
width], logits (argmax over classes gives the mask). Models that need a multiple of 16 or 32 pad
and crop inside the graph, so any height and width work.

metadata_props: segkit.model (the name, plain text) and, as JSON, segkit.options, segkit.classes, segkit.palette
([[r,g,b], ...] per class), segkit.normalize ({mean, std}), segkit.input (layout, channels,
range, sizeMultiple, padsTo), segkit.export (format version).

Examples:
  segkit export --weights runs/shapes/best.safetensors -o shapes.onnx
  segkit export --model lraspp_mobilenet_v3_large --weights DEFAULT -o lraspp.onnx
  segkit export --model unet --num-classes 2 --weights unet.pth --static --size 256x256
  segkit export --weights runs/shapes/best.safetensors --web site   # then: cd site && python3 -m http.server`)
    .action(async (o: ExportFlags) => {
      const [{ exportOnnx }, { UNet }, { writeAtomic }] = await Promise.all([import('../export/index.js'), import('../models/index.js'), import('../io/atomic.js')]);
      const flags: ModelFlags = { model: o.model, weights: o.weights, numClasses: o.numClasses, labelMap: o.labelMap, mean: o.mean, std: o.std, overlap: 1 / 3, threshold: 0.5 };
      const { model, name, options, normalize, classes, palette, description } = await loadTorchModel(flags);
      try {
        if (o.weights === undefined) console.error('segkit export: no --weights given, so the file holds the randomly initialised weights');
        const numClasses = (model as { numClasses?: number }).numClasses ?? (options.numClasses as number | undefined);
        const channels = (options.inChannels as number | undefined) ?? 3;
        // the multiple the graph pads to inside (smp models, segkit's UNet); others take any size as it is
        const padsTo = model instanceof UNet ? 2 ** model.depth : (model as { inputMultiple?: number }).inputMultiple;
        const metadata = {
          'segkit.model': name,
          'segkit.options': options,
          ...(classes ? { 'segkit.classes': classes } : {}),
          'segkit.palette': palette.slice(0, numClasses ?? classes?.length ?? palette.length),
          'segkit.normalize': normalize,
          'segkit.input': {
            layout: 'NCHW',
            channels,
            range: 'RGB scaled to [0, 1], then (x - mean) / std per channel',
            // padded inside the graph: any size runs; a multiple of this spares the padding
            sizeMultiple: 1,
            ...(padsTo !== undefined && padsTo > 1 ? { padsTo } : {}),
          },
        };
        const bytes = exportOnnx(model, {
          inputShape: [1, channels, o.size[0], o.size[1]],
          dynamicAxes: !o.static,
          opset: o.opset,
          outputs: o.aux ? ['out', 'aux'] : ['out'],
          metadata,
        });
        const out = o.out ?? (o.web === undefined ? 'model.onnx' : undefined);
        if (out !== undefined) await writeAtomic(out, bytes);
        if (o.web !== undefined) {
          const { writeWebPage } = await import('../web/page.js');
          writeWebPage(o.web, bytes);
          console.log(`wrote the browser page to ${o.web} (index.html, model.onnx, ort/): serve the folder over HTTP, e.g. cd ${o.web} && python3 -m http.server`);
        }
        const dims = o.static ? `[1, ${channels}, ${o.size[0]}, ${o.size[1]}]` : `[batch, ${channels}, height, width]`;
        console.log(`wrote ${out ?? join(o.web!, 'model.onnx')} (${(bytes.byteLength / 1e6).toFixed(1)} MB, opset ${o.opset}): ${description}`);
        console.log(`  input 'input' float32 ${dims}; output 'out' logits for ${numClasses ?? '?'} classes${classes ? ` (${classes.join(', ')})` : ''}${o.aux ? ", and 'aux'" : ''}`);
      } finally {
        model.dispose();
      }
    });
}
