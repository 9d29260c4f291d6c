// A byte-count progress bar on stderr for downloads (cli-progress), drawn only on a terminal:
// piped or logged output stays clean.
import { SingleBar } from 'cli-progress';

export interface ByteProgress {
  /** Total bytes received so far. */
  update(received: number): void;
  /** Ends the bar (on success or failure); the line stays as a record of what was fetched. */
  stop(): void;
}

const MiB = 1024 * 1024;
const mib = (n: number): string => (n / MiB).toFixed(1);

/**
 * A bar for `label` (a file name) with `total` bytes (undefined when the server does not say),
 * written to `stream`; undefined when `stream` is not a terminal.
 */
export function byteProgress(label: string, total: number | undefined, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): ByteProgress | undefined {
  if (stream.isTTY !== true) return undefined;
  const known = total !== undefined && total > 0;
  const bar = new SingleBar({
    stream,
    format: known
      ? `${label} |{bar}| {percentage}% | {value}/{total} MiB | {speed} MiB/s | ETA {eta_formatted}`
      : `${label} | {value} MiB | {speed} MiB/s`,
    formatValue: (v, _opts, type) => (type === 'value' || type === 'total' ? mib(v) : String(v)),
    barsize: 30,
    hideCursor: false,
    etaBuffer: 50,
  });
  const started = Date.now();
  bar.start(known ? total : 0, 0, { speed: '0.0' });
  return {
    update(received) {
      const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
      bar.update(received, { speed: mib(received / seconds) });
    },
    stop() {
      bar.stop();
    },
  };
}
