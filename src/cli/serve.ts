// `segkit serve`: an HTTP inference server for a model, loaded as `segkit predict` loads it. It
// listens at once (GET /healthz), loads and warms up the model (GET /readyz answers 200 after),
// answers POST /predict, and on SIGTERM or SIGINT stops accepting, answers the requests it
// admitted, frees the model and exits 0 (a second signal exits at once with 1).
import { Command, InvalidArgumentError, Option } from 'commander';
import { addModelOptions, loadModel, positive, type ModelFlags } from './model-options.js';

interface ServeFlags extends ModelFlags {
  host: string;
  port: number;
  maxBodyMb: number;
  maxPixels: number;
  queue: number;
  timeout: number;
  warmupSize: number;
  log?: boolean;
}

const wholeNumber = (name: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got "${v}"`);
  return n;
};
/** A pixel count as a number or as WIDTHxHEIGHT. */
const pixels = (v: string): number => {
  const m = /^(\d+)x(\d+)$/i.exec(v.trim());
  const n = m ? Number(m[1]) * Number(m[2]) : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--max-pixels takes a pixel count or WIDTHxHEIGHT (e.g. 4096x4096), got "${v}"`);
  return n;
};

export function registerServeCommand(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve a model over HTTP: POST an image to /predict, get its mask, colour mask, overlay or class counts')
    .addHelpText(
      'after',
      `
Endpoints:
  POST /predict      the image as the body (Content-Type image/png, image/jpeg, image/webp, image/tiff)
                     or as a file field of a multipart form; answers by ?format= or the Accept header:
                       mask     index mask PNG, class ids as grey values (the default; Accept: image/png)
                       color    colour mask PNG (label map or VOC colours)
                       overlay  the colour mask blended over the image, PNG
                       json     pixels per class with class names, image size and times (Accept: application/json)
  GET  /healthz      200 while the process runs
  GET  /readyz       200 once the model is loaded and warmed up, else 503

Limits: a body over --max-body-mb or an image over --max-pixels gets 413; an image that does not
decode 400; a full queue 503 with Retry-After; no answer within --timeout 504. Inference runs one
request at a time.

Examples:
  segkit serve --weights runs/demo/best.safetensors --port 8080
  curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' http://127.0.0.1:8080/predict > mask.png
  curl -F image=@photo.jpg 'http://127.0.0.1:8080/predict?format=json'`,
    )
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', wholeNumber('--port', 0), 8080)
    .option('--max-body-mb <n>', 'largest request body in MiB', positive('--max-body-mb'), 20)
    .addOption(new Option('--max-pixels <n|WxH>', 'largest image, checked from its header before decoding').default(4096 * 4096, '4096x4096').argParser(pixels))
    .option('--queue <n>', 'requests that may wait while one runs; more get 503', wholeNumber('--queue', 0), 8)
    .option('--timeout <s>', 'seconds from arrival to answer before a request gets 504', positive('--timeout'), 30)
    .option('--warmup-size <n>', 'side of the grey image of the warm-up inference', wholeNumber('--warmup-size', 1), 256)
    .option('--log', "log every request (Fastify's JSON lines on stdout)");
  addModelOptions(cmd).action(async (o: ServeFlags) => {
    const { createServer } = await import('../serve/index.js');
    let description = '';
    const app = createServer({
      model: async () => {
        const loaded = await loadModel(o);
        description = loaded.description;
        return { ...loaded, threshold: o.threshold, name: loaded.description.split(';')[0] };
      },
      maxBodyBytes: Math.round(o.maxBodyMb * 1024 * 1024),
      maxPixels: o.maxPixels,
      queueSize: o.queue,
      timeoutMs: o.timeout * 1000,
      warmupSize: o.warmupSize,
      logger: o.log ? { level: 'info' } : false,
    });
    let stopping = false;
    const stop = async (signal: string): Promise<void> => {
      if (stopping) {
        console.error(`segkit serve: ${signal} again, exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      const { admitted } = app.segkit.queue.stats();
      console.error(`segkit serve: ${signal}: no new requests; answering the ${admitted} admitted, then freeing the model`);
      await app.close();
      console.error('segkit serve: stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));

    const address = await app.listen({ host: o.host, port: o.port });
    console.error(`segkit serve: listening on ${address} (POST /predict, GET /healthz, /readyz); loading the model`);
    try {
      await app.segkit.ready;
    } catch (e) {
      await app.close();
      throw e;
    }
    console.error(`segkit serve: ready in ${(app.segkit.loadMs! / 1000).toFixed(1)} s: ${description}; ${app.segkit.predictor!.numClasses} classes`);
  });
}
