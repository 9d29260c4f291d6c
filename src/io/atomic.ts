// Atomic file writes: the bytes go to a temporary file beside the target, which is then renamed
// into place, so a reader (or a run killed mid-write) never sees a partial file.
import { rename, rm, writeFile } from 'node:fs/promises';

/** Write bytes to a temporary file beside `file`, then rename it into place (the temporary file is removed on failure). */
export async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.floor(performance.now() * 1000)}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
