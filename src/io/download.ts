// Downloads into PyTorch's own cache, so a file torch.hub already fetched is used as it is and
// nothing is downloaded twice: the folder is found as torch.hub finds it, the file streams into a
// temp file beside its final name, its SHA-256 must start with the prefix its name carries (as
// torch.hub's check_hash), and only then is it renamed into place. Offline, or on any network
// failure, one error says which file to put where and where to get it.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { byteProgress } from './progress.js';

type Env = Record<string, string | undefined>;

const set = (v: string | undefined): v is string => v !== undefined && v !== '';
const expandHome = (p: string, env: Env): string => (p === '~' || p.startsWith('~/') ? join(env.HOME || homedir(), p.slice(1)) : p);

/**
 * torch.hub's checkpoint folder: $TORCH_HOME/hub/checkpoints, else
 * $XDG_CACHE_HOME/torch/hub/checkpoints, else ~/.cache/torch/hub/checkpoints.
 */
export function torchHubCheckpointsDir(env: Env = process.env): string {
  const torchHome = set(env.TORCH_HOME)
    ? env.TORCH_HOME
    : join(set(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache'), 'torch');
  return join(expandHome(torchHome, env), 'hub', 'checkpoints');
}

/** True when SEGKIT_OFFLINE is set to anything but '', '0', 'false' or 'no': never touch the network. */
export function offlineFromEnv(env: Env = process.env): boolean {
  const v = env.SEGKIT_OFFLINE?.trim().toLowerCase();
  return v !== undefined && !['', '0', 'false', 'no'].includes(v);
}

/**
 * The SHA-256 prefix a file name carries, read as torch.hub's HASH_REGEX (`-([a-f0-9]*)\.`) reads
 * it: 'resnet50-11ad3fa6.pth' → '11ad3fa6'. Undefined when there is none (or it is under 8 digits).
 */
export function hashPrefixOf(fileName: string): string | undefined {
  const m = /-([a-f0-9]*)\./.exec(fileName);
  return m !== null && m[1].length >= 8 ? m[1] : undefined;
}

/** A file could not be fetched (offline, refused, HTTP error, cut off): the message says what to put where. */
export class DownloadUnavailableError extends Error {
  constructor(
    /** Where the file is expected. */
    readonly file: string,
    readonly url: string,
    /** Why it was not fetched, e.g. 'HTTP 404 Not Found', 'SEGKIT_OFFLINE is set'. */
    readonly reason: string,
    what: string,
    hint?: string,
  ) {
    super(
      `cannot download ${what} (${reason}).\n` +
        `  Put the file here: ${file}\n` +
        `  Get it from:       ${url}  (on a machine with internet)` +
        (hint ? `\n  ${hint}` : ''),
    );
    this.name = 'DownloadUnavailableError';
  }
}

export interface CachedDownloadOptions {
  /** The cached file's name; default: the URL's last path part. */
  fileName?: string;
  /** The folder; default: torch.hub's checkpoint folder (torchHubCheckpointsDir). */
  cacheDir?: string;
  /** Environment for the cache folder and SEGKIT_OFFLINE; default process.env. */
  env?: Env;
  /** Never touch the network; default: SEGKIT_OFFLINE. */
  offline?: boolean;
  /** Show a progress bar (only drawn when the stream is a terminal); default true. */
  progress?: boolean;
  /** Where the bar goes; default process.stderr. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** The fetch to use; default the global one. */
  fetch?: typeof globalThis.fetch;
  /** What is being fetched, for messages, e.g. 'resnet50 weights IMAGENET1K_V2'; default the file name. */
  what?: string;
  /** A last line for the unavailable message, e.g. another way to get there. */
  hint?: string;
}

/** The chain of causes of a fetch failure in one line, e.g. 'fetch failed: connect ECONNREFUSED 127.0.0.1:9'. */
function describeFailure(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e; c instanceof Error && parts.length < 4; c = c.cause) {
    if (!parts.includes(c.message)) parts.push(c.message);
  }
  return parts.join(': ') || String(e);
}

/**
 * Downloads `url` to `dest`: streamed into a temp file in dest's folder, checked against
 * `hashPrefix` (the start of its SHA-256 in hex), then renamed into place. On any failure the
 * temp file is removed and dest is untouched. Network failures throw DownloadUnavailableError.
 */
export async function downloadFile(
  url: string,
  dest: string,
  hashPrefix: string,
  opts: Pick<CachedDownloadOptions, 'progress' | 'progressStream' | 'fetch' | 'what' | 'hint'> = {},
): Promise<void> {
  const what = opts.what ?? basename(dest);
  const unavailable = (reason: string) => new DownloadUnavailableError(dest, url, reason, what, opts.hint);
  const dir = dirname(dest);
  const notWritable = (e: unknown) =>
    new Error(`cannot write ${basename(dest)} to ${dir} (${(e as Error).message}); make the folder writable, or set TORCH_HOME to a writable folder`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw notWritable(e);
  }
  const doFetch = opts.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await doFetch(url, { headers: { 'User-Agent': 'segkit' } });
  } catch (e) {
    throw unavailable(describeFailure(e));
  }
  if (!res.ok || res.body === null) {
    await res.body?.cancel().catch(() => undefined);
    throw unavailable(`HTTP ${res.status} ${res.statusText}`.trim());
  }
  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  const tmp = `${dest}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  const hash = createHash('sha256');
  const bar = opts.progress === false ? undefined : byteProgress(basename(dest), total, opts.progressStream);
  const reader = res.body.getReader();
  let received = 0;
  try {
    const fh = await open(tmp, 'wx').catch((e: unknown) => {
      throw notWritable(e);
    });
    try {
      for (;;) {
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await reader.read();
        } catch (e) {
          throw unavailable(`the download broke off after ${received} of ${total ?? '?'} bytes: ${describeFailure(e)}`);
        }
        if (next.done) break;
        hash.update(next.value);
        await fh.write(next.value);
        received += next.value.byteLength;
        bar?.update(received);
      }
      if (total !== undefined && received !== total) {
        throw unavailable(`the download broke off after ${received} of ${total} bytes`);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const digest = hash.digest('hex');
    if (!digest.startsWith(hashPrefix)) {
      throw new Error(
        `${url}: the downloaded file's SHA-256 is ${digest}, but its name ${basename(dest)} says it starts with ${hashPrefix}; ` +
          `it was refused and nothing was saved in ${dir}. Try again; if it persists, the server's file is not the one ` +
          `its name promises: get it another way and check it with sha256sum.`,
      );
    }
    await rename(tmp, dest);
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  } finally {
    bar?.stop();
    rmSync(tmp, { force: true });
  }
}

/**
 * The local path of `url` in the cache, downloaded first when missing (unless offline). The file
 * name must carry a SHA-256 prefix (name-<hex>.ext) and the download must match it.
 */
export async function cachedDownload(url: string, opts: CachedDownloadOptions = {}): Promise<string> {
  const fileName = opts.fileName ?? basename(new URL(url).pathname);
  const hashPrefix = hashPrefixOf(fileName);
  if (hashPrefix === undefined) {
    throw new Error(`${fileName}: the file name carries no SHA-256 prefix (name-<8+ hex digits>.ext), so its download cannot be checked; rename it, or download ${url} yourself and pass the file's path`);
  }
  const env = opts.env ?? process.env;
  const dest = join(opts.cacheDir ?? torchHubCheckpointsDir(env), fileName);
  if (existsSync(dest)) return dest;
  if (opts.offline ?? offlineFromEnv(env)) {
    const reason = opts.offline === undefined ? 'SEGKIT_OFFLINE is set' : 'offline: the network is not to be used';
    throw new DownloadUnavailableError(dest, url, reason, opts.what ?? fileName, opts.hint);
  }
  await downloadFile(url, dest, hashPrefix, opts);
  return dest;
}
