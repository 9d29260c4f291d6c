// What to run when the native addon is missing, for where segkit is: a project that depends on
// segkit (installed under node_modules, perhaps with --ignore-scripts) rebuilds it with
// `npm rebuild segkit`; a checkout of segkit itself has `npm run build:native`.
import { sep } from 'node:path';

/** The command that builds the addon for a segkit package rooted at `packageRoot`. */
export function buildCommand(packageRoot: string): string {
  return packageRoot.split(sep).includes('node_modules') ? 'npm rebuild segkit' : 'npm run build:native';
}

/** The message for a missing addon at `addonPath`. */
export function missingAddonMessage(addonPath: string, packageRoot: string): string {
  const dependency = buildCommand(packageRoot) === 'npm rebuild segkit';
  return (
    `segkit's native addon is not built (${addonPath} is missing). ` +
    (dependency
      ? 'Run `npm rebuild segkit` in your project (the install step builds it; it was skipped, e.g. by --ignore-scripts, or failed: its output says why). '
      : 'Run `npm run build:native` in the segkit checkout. ') +
    'It needs libtorch: on Debian `sudo apt-get install libtorch-dev libopenblas0-pthread`, or `pip install torch`, or LIBTORCH=/path/to/libtorch.'
  );
}
