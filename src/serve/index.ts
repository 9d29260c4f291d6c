// segkit serve: an HTTP inference server (Fastify) for a segmentation model, and its parts.
export { createServer, chooseFormat, HttpError, SERVE_DEFAULTS, type Phase, type SegkitServer, type ServeOptions, type ServeState } from './server.js';
export { FORMATS, Predictor, type ClassCount, type Format, type ServedModel } from './predictor.js';
export { ComputeQueue, type Ticket } from './queue.js';
