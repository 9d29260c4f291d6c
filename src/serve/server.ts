// `segkit serve` as an API: a Fastify instance that answers POST /predict with the index mask PNG,
// a colour mask, an overlay or JSON class counts, and GET /healthz (alive) and /readyz (model
// loaded and warmed up). A request is admitted (or refused with 503 and Retry-After) before its
// body is read; admitted ones wait in one bounded line for the compute thread, each under a
// deadline (504). Bodies over the size limit and images over the pixel limit get 413, images that
// do not decode 400. close() stops accepting, answers every admitted request, then frees the model.
//
//   const app = createServer({ model: () => loadModel(flags), queueSize: 8, timeoutMs: 30_000 });  // libtorch or ONNX Runtime
//   await app.listen({ host: '127.0.0.1', port: 8080 });
//   await app.segkit.ready;                      // loaded and warmed up
//   ...; await app.close();                      // SIGTERM: drain, free the model
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import multipart from '@fastify/multipart';
import { decodeImage, TooManyPixelsError, BadFileError } from '../io/image.js';
import { ComputeQueue, type Ticket } from './queue.js';
import { FORMATS, Predictor, type Format, type ServedModel } from './predictor.js';

export interface ServeOptions {
  /** The model, or a function that loads it (the server answers /healthz while it runs). */
  model: ServedModel | (() => Promise<ServedModel>);
  /** Largest request body, raw or multipart (default 20 MiB). */
  maxBodyBytes?: number;
  /** Largest image in pixels, checked from its header before decoding (default 4096 x 4096). */
  maxPixels?: number;
  /** Requests that may wait while one runs; more get 503 with Retry-After (default 8). */
  queueSize?: number;
  /** Deadline of a request from its arrival to its answer, in ms (default 30 s); past it, 504. */
  timeoutMs?: number;
  /** Side of the grey image the warm-up inference runs on (default 256). */
  warmupSize?: number;
  /** Fastify's logger option (default off). */
  logger?: FastifyServerOptions['logger'];
}

export type Phase = 'loading' | 'ready' | 'failed' | 'closing';

/** What `app.segkit` holds. */
export interface ServeState {
  /** Settles when the model is loaded and warmed up; rejects with the load error. */
  readonly ready: Promise<void>;
  readonly phase: Phase;
  readonly queue: ComputeQueue;
  /** The loaded model (undefined while loading or after a failed load). */
  readonly predictor?: Predictor;
  /** How long loading and the warm-up took, in ms. */
  readonly loadMs?: number;
}

export type SegkitServer = FastifyInstance & { segkit: ServeState };

export const SERVE_DEFAULTS = { maxBodyBytes: 20 * 1024 * 1024, maxPixels: 4096 * 4096, queueSize: 8, timeoutMs: 30_000, warmupSize: 256 } as const;

/** An answer other than 200, with the headers it needs (Retry-After). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const RAW_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/tiff', 'application/octet-stream'];
const HOW_TO_SEND = 'send the image as the body with Content-Type image/png or image/jpeg (curl --data-binary @photo.jpg -H "Content-Type: image/jpeg"), or as a file field of a multipart form (curl -F image=@photo.jpg)';

const sizeOf = (bytes: number): string => (bytes >= 1024 * 1024 ? `${+(bytes / 1024 / 1024).toFixed(1)} MiB` : `${+(bytes / 1024).toFixed(1)} KiB`);
const ms = (x: number): number => Math.round(x * 100) / 100;

/** What one admitted /predict request holds between its arrival and its answer. */
interface Admitted {
  ticket: Ticket;
  arrived: number;
  deadline: AbortController;
  timer: NodeJS.Timeout;
  handled: boolean;
}

export function createServer(options: ServeOptions): SegkitServer {
  const o = { ...SERVE_DEFAULTS, ...options };
  for (const key of ['maxBodyBytes', 'maxPixels', 'timeoutMs', 'warmupSize'] as const) {
    if (!(o[key] > 0)) throw new RangeError(`createServer: ${key} must be a positive number, got ${o[key]}`);
  }
  const queue = new ComputeQueue(o.queueSize);
  const app = Fastify({ logger: o.logger ?? false, bodyLimit: o.maxBodyBytes, requestTimeout: o.timeoutMs + 5000 });

  // ---- the model: loaded after the server starts answering /healthz ----
  const state: { -readonly [K in keyof ServeState]: ServeState[K] } & { error?: Error } = { phase: 'loading', queue, ready: Promise.resolve() };
  state.ready = (async () => {
    const start = performance.now();
    await new Promise((resolve) => setImmediate(resolve)); // let listen() start first
    const served = typeof o.model === 'function' ? await o.model() : o.model;
    const predictor = new Predictor(served);
    try {
      await predictor.warmUp(o.warmupSize);
    } catch (e) {
      await predictor.dispose();
      throw e;
    }
    state.predictor = predictor;
    state.loadMs = performance.now() - start;
    if (state.phase === 'loading') state.phase = 'ready';
  })();
  state.ready.catch((e: Error) => {
    state.error = e;
    if (state.phase === 'loading') state.phase = 'failed';
    app.log.error(`model failed to load: ${e.message}`);
  });
  app.decorate('segkit', state);

  app.addHook('preClose', async () => {
    state.phase = 'closing';
  });
  // answers sent while closing end their connection; an idle keep-alive one would hold close() for the keep-alive timeout
  app.addHook('onSend', async (_request, reply) => {
    if (state.phase === 'closing') reply.header('connection', 'close');
  });
  // runs after the HTTP server closed, i.e. after every admitted request was answered
  app.addHook('onClose', async () => {
    await state.ready.catch(() => undefined);
    await queue.whenIdle(); // a job whose caller timed out may still run
    const predictor = state.predictor;
    state.predictor = undefined;
    await predictor?.dispose();
  });

  // ---- bodies: raw image bytes, or one file of a multipart form ----
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(RAW_TYPES, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.register(multipart, { limits: { fileSize: o.maxBodyBytes, files: 1, fields: 8, parts: 16 } });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, request, reply) => {
    let status = err.statusCode ?? 500;
    let message = err.message;
    if (err instanceof HttpError) reply.headers(err.headers);
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.code === 'FST_REQ_FILE_TOO_LARGE') {
      status = 413;
      message = `the request body is larger than the limit of ${sizeOf(o.maxBodyBytes)} (${o.maxBodyBytes} bytes); start segkit serve with a larger --max-body-mb (createServer's maxBodyBytes) to accept it`;
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      message = `Content-Type ${request.headers['content-type'] ?? '(none)'} is not an image; ${HOW_TO_SEND}`;
    } else if (status >= 500) {
      request.log.error(err);
      message = `internal error: ${err.message}`;
    }
    reply.code(status).send({ statusCode: status, error: STATUS_CODES[status], message });
  });

  // ---- liveness and readiness ----
  app.get('/healthz', async () => ({ status: 'alive' }));
  app.get('/readyz', async (_request, reply) => {
    const { admitted, waiting, running } = queue.stats();
    if (state.phase === 'ready') {
      const p = state.predictor!;
      return { status: 'ready', model: p.served.name, classes: p.classNames(), queue: { admitted, waiting, running, size: o.queueSize } };
    }
    reply.code(503).header('retry-after', '1');
    return { status: state.phase, message: state.phase === 'failed' ? `the model failed to load: ${state.error?.message}` : state.phase === 'loading' ? 'loading and warming up the model' : 'shutting down' };
  });

  // ---- prediction ----
  const admitted = new WeakMap<FastifyRequest, Admitted>();
  const letGo = (request: FastifyRequest): void => {
    const a = admitted.get(request);
    if (!a) return;
    clearTimeout(a.timer);
    if (!a.handled) a.ticket.release();
  };

  app.post('/predict', {
    // admission happens before the body is read: refusals cost no upload
    onRequest: async (request) => {
      if (state.phase === 'loading') throw new HttpError(503, 'the model is still loading; GET /readyz answers 200 once it is ready', { 'retry-after': '5' });
      if (state.phase === 'failed') throw new HttpError(503, `the model failed to load: ${state.error?.message}`);
      if (state.phase === 'closing') throw new HttpError(503, 'the server is shutting down');
      const ticket = queue.admit();
      if (!ticket) {
        const s = queue.retryAfterS;
        throw new HttpError(503, `the server is busy: ${o.queueSize} requests already wait for the model (the --queue limit); retry after ${s} s`, { 'retry-after': String(s) });
      }
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new HttpError(504, `no answer within the ${o.timeoutMs / 1000} s limit (the model was busy or the image is large); start segkit serve with a larger --timeout (createServer's timeoutMs) to wait longer`)), o.timeoutMs);
      admitted.set(request, { ticket, arrived: performance.now(), deadline, timer, handled: false });
    },
    onResponse: async (request) => letGo(request),
    // a client that hangs up frees its place in the line (a running job finishes unobserved)
    onRequestAbort: async (request) => {
      admitted.get(request)?.deadline.abort(new HttpError(499, 'the client closed the connection'));
      letGo(request);
    },
    handler: async (request, reply) => {
      const a = admitted.get(request)!;
      a.handled = true;
      try {
        const format = chooseFormat(request);
        const work = answer(request, reply, a, format);
        work.catch(() => undefined); // when the deadline wins the race below
        return await untilAborted(work, a.deadline.signal);
      } finally {
        a.ticket.release();
      }
    },
  });

  async function answer(request: FastifyRequest, reply: FastifyReply, a: Admitted, format: Format): Promise<Buffer | object> {
    const predictor = state.predictor!;
    const body = await imageBytes(request);
    const image = await decodeImage(body, 'the uploaded image', { maxPixels: o.maxPixels, channels: 3 }).catch((e: unknown) => {
      if (e instanceof TooManyPixelsError) {
        throw new HttpError(413, `the image is ${e.width}x${e.height} = ${e.width * e.height} pixels, above the limit of ${o.maxPixels} pixels; start segkit serve with a larger --max-pixels (createServer's maxPixels) to accept it`);
      }
      if (e instanceof BadFileError) throw new HttpError(400, e.message);
      throw e;
    });
    const queued = performance.now();
    let started = queued;
    const mask = await queue.run(() => {
      started = performance.now();
      return predictor.predict(image);
    }, a.deadline.signal);
    const inferred = performance.now();
    reply.header('server-timing', `queue;dur=${ms(started - queued)}, infer;dur=${ms(inferred - started)}`);
    if (format === 'json') {
      return {
        model: predictor.served.name,
        width: image.width,
        height: image.height,
        classes: predictor.classCounts(mask),
        timeMs: { queue: ms(started - queued), inference: ms(inferred - started), total: ms(performance.now() - a.arrived) },
      };
    }
    const png = await predictor.encode(format, image, mask);
    reply.type('image/png');
    return png;
  }

  async function imageBytes(request: FastifyRequest): Promise<Buffer> {
    if (request.isMultipart()) {
      const part = await request.file();
      if (!part) throw new HttpError(400, `the multipart form holds no file; ${HOW_TO_SEND}`);
      return part.toBuffer();
    }
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, `the request holds no image; ${HOW_TO_SEND}`);
    return body;
  }

  return app as unknown as SegkitServer;
}

/** The answer's format: ?format= first, else the Accept header (application/json or a PNG), else the mask. */
export function chooseFormat(request: FastifyRequest): Format {
  const asked = (request.query as Record<string, unknown> | undefined)?.format;
  if (asked !== undefined) {
    if (typeof asked === 'string' && (FORMATS as readonly string[]).includes(asked)) return asked as Format;
    throw new HttpError(400, `unknown format '${String(asked)}'; choose from ${FORMATS.join(', ')}`);
  }
  const accept = request.headers.accept;
  if (!accept) return 'mask';
  const ranked = accept
    .split(',')
    .map((part, i) => {
      const [type, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { type: type!.trim(), q: q ? Number(q.slice(2)) : 1, i };
    })
    .filter((t) => t.q > 0)
    .sort((x, y) => y.q - x.q || x.i - y.i);
  for (const { type } of ranked) {
    if (type === 'application/json') return 'json';
    if (type === 'image/png' || type === 'image/*' || type === '*/*') return 'mask';
  }
  return 'mask';
}

/** `work`, or the signal's reason once it aborts, whichever comes first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
