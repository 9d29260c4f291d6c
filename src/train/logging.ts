// What a run writes while it trains: train.jsonl (one JSON record per line: `train` per logged
// step with loss, terms and lr; `val` per validation with its metrics; `skip`, `best`, `stop`,
// `resume`), and a progress bar on stderr with ETA, it/s, loss and lr (cli-progress; drawn only
// on a terminal, so piped output stays clean).
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { writeFileAtomic } from '../data/splits.js';

export type LogRecord = { type: string; step?: number; [k: string]: unknown };

export class JsonlLog {
  constructor(readonly file: string) {}

  write(record: LogRecord): void {
    appendFileSync(this.file, JSON.stringify(record) + '\n');
  }

  /**
   * On resume: drops the records of steps after `step` (written after the checkpoint, before the
   * run was stopped), so the log reads as one uninterrupted run.
   */
  truncateAfter(step: number): void {
    if (!existsSync(this.file)) return;
    const kept = readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((line) => {
        if (line.trim() === '') return false;
        try {
          const r = JSON.parse(line) as LogRecord;
          return r.step === undefined || r.step <= step;
        } catch {
          return false; // a line cut short by the kill
        }
      });
    writeFileAtomic(this.file, kept.map((l) => l + '\n').join(''));
  }

  /** Every record of the file (for tests and reports). */
  static read(file: string): LogRecord[] {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LogRecord);
  }
}

export interface TrainProgress {
  update(step: number, values: { loss: number; lr: number; epoch: number }): void;
  /** Clears the bar while something else prints a line. */
  log(line: string): void;
  stop(): void;
}

const duration = (s: number): string => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);

/**
 * A bar over `total` steps starting at `start` when stderr is a terminal; otherwise (logs, CI) a
 * plain status line on stdout at most every `everySeconds`.
 */
export function trainProgress(total: number, start: number, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr, everySeconds = 30): TrainProgress {
  const t0 = Date.now();
  if (stream.isTTY !== true) {
    let last = t0;
    return {
      update(step, v) {
        const now = Date.now();
        if (now - last < everySeconds * 1000 && step < total) return;
        last = now;
        const rate = (step - start) / Math.max((now - t0) / 1000, 1e-3);
        console.log(`step ${step}/${total} (epoch ${v.epoch}) | ${rate.toFixed(2)} it/s | loss ${v.loss.toFixed(4)} | lr ${v.lr.toExponential(2)} | ETA ${duration((total - step) / Math.max(rate, 1e-9))}`);
      },
      log: (line) => console.log(line),
      stop() {},
    };
  }
  const bar = new SingleBar({
    stream,
    format: 'epoch {epoch} |{bar}| {value}/{total} steps | {speed} it/s | loss {loss} | lr {lr} | ETA {eta_formatted}',
    barsize: 24,
    hideCursor: false,
    etaBuffer: 50,
    fps: 5,
  });
  bar.start(total, start, { epoch: '-', speed: '-', loss: '-', lr: '-' });
  return {
    update(step, v) {
      const seconds = (Date.now() - t0) / 1000;
      bar.update(step, {
        epoch: v.epoch,
        speed: seconds > 0 ? ((step - start) / seconds).toFixed(2) : '-',
        loss: v.loss.toFixed(4),
        lr: v.lr.toExponential(2),
      });
    },
    log(line) {
      // cli-progress redraws on its next update; print above it
      stream.write('\r\x1b[2K');
      console.log(line);
      bar.render();
    },
    stop() {
      bar.stop();
    },
  };
}
