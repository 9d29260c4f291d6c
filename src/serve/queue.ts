// One compute slot and a bounded line of requests waiting for it. A request is admitted when it
// arrives, before its body is read, so the memory held by uploads is bounded by the queue size; the
// work itself runs one job at a time in arrival order. A job whose deadline passes while it waits
// leaves the line without running; one whose deadline passes while it runs is answered at once and
// its result dropped (the compute thread cannot be interrupted), and the next job waits for it.
//
//   const queue = new ComputeQueue(8);
//   const ticket = queue.admit();             // undefined: full, answer 503 (queue.retryAfterS)
//   try { await queue.run(() => work(), signal); } finally { ticket.release(); }

/** An admitted request's place; release it once its answer is decided (releasing twice is harmless). */
export interface Ticket {
  release(): void;
}

interface Job {
  work: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class ComputeQueue {
  #admitted = 0;
  #waiting: Job[] = [];
  #running = false;
  #idle: Array<() => void> = [];
  // a smoothed job time, for Retry-After
  #jobMs = 0;

  /** `waiting`: requests that may wait while one runs (so waiting + 1 are admitted at most). */
  constructor(readonly waiting: number) {
    if (!(Number.isInteger(waiting) && waiting >= 0)) throw new RangeError(`ComputeQueue: the queue size must be a whole number >= 0, got ${waiting}`);
  }

  /** A ticket when there is room (the running job and `waiting` more), else undefined. */
  admit(): Ticket | undefined {
    if (this.#admitted >= this.waiting + 1) return undefined;
    this.#admitted++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.#admitted--;
      },
    };
  }

  /** Seconds until a place is likely free: the admitted requests times the smoothed job time, at least 1. */
  get retryAfterS(): number {
    return Math.max(1, Math.ceil((this.#admitted * this.#jobMs) / 1000));
  }

  stats(): { admitted: number; waiting: number; running: boolean; jobMs: number } {
    return { admitted: this.#admitted, waiting: this.#waiting.length, running: this.#running, jobMs: this.#jobMs };
  }

  /**
   * Runs `work` when the jobs before it are done. When `signal` aborts, the promise rejects with its
   * reason at once; a job still waiting is taken out of the line, a running one finishes unobserved.
   */
  run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const job: Job = { work, resolve: resolve as (v: unknown) => void, reject, signal };
      if (signal) {
        job.onAbort = () => {
          const at = this.#waiting.indexOf(job);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(signal.reason);
          this.#notifyIdle();
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#waiting.push(job);
      this.#next();
    });
  }

  /** Resolves when no job runs or waits (a job whose caller gave up included). */
  whenIdle(): Promise<void> {
    if (!this.#running && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #next(): void {
    if (this.#running) return;
    const job = this.#waiting.shift();
    if (!job) return this.#notifyIdle();
    this.#running = true;
    const start = performance.now();
    job
      .work()
      .then(job.resolve, job.reject)
      .finally(() => {
        if (job.onAbort) job.signal!.removeEventListener('abort', job.onAbort);
        const ms = performance.now() - start;
        this.#jobMs = this.#jobMs === 0 ? ms : 0.8 * this.#jobMs + 0.2 * ms;
        this.#running = false;
        this.#next();
      });
  }

  #notifyIdle(): void {
    if (this.#running || this.#waiting.length > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
