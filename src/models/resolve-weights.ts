// From what a user writes for `weights` to a file on disk: a path to a .pth/.pt/.safetensors file
// is used as it is; a torchvision weight name ('DEFAULT', 'IMAGENET1K_V2',
// 'COCO_WITH_VOC_LABELS_V1') is looked up in PyTorch's own cache and downloaded there from the
// official URL when missing (checked against the hash in its file name).
import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { cachedDownload, type CachedDownloadOptions } from '../io/download.js';
import { weightsInfo, weightsName, type WeightsBuilder } from './weights.js';

const WEIGHT_FILE_EXTENSIONS = ['.pth', '.pt', '.safetensors'];

export interface ResolveWeightsOptions extends Omit<CachedDownloadOptions, 'fileName' | 'what' | 'hint'> {
  /**
   * Fetch from here instead of https://download.pytorch.org/models/ (a mirror; the file name is
   * appended). Default: the SEGKIT_WEIGHTS_BASE_URL environment variable, else the official URL.
   */
  baseUrl?: string;
}

const looksLikePath = (s: string): boolean => s.includes('/') || s.includes('\\') || WEIGHT_FILE_EXTENSIONS.includes(extname(s).toLowerCase());

/** The download URL of a weights file: the official one, or the same file name under `baseUrl`. */
function downloadUrl(officialUrl: string, fileName: string, baseUrl: string | undefined): string {
  if (baseUrl === undefined || baseUrl === '') return officialUrl;
  return new URL(encodeURIComponent(fileName), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
}

/**
 * The local file for `builder`'s weights `nameOrPath`: an existing .pth/.pt/.safetensors path as
 * given, or a torchvision weight name resolved to the file in torch.hub's cache (downloaded when
 * missing, unless offline). Errors list the valid names, or say which file to put where.
 */
export async function resolveWeights(builder: WeightsBuilder | (string & {}), nameOrPath: string, opts: ResolveWeightsOptions = {}): Promise<string> {
  if (weightsName(builder, nameOrPath) === undefined) {
    if (existsSync(nameOrPath)) {
      const ext = extname(nameOrPath).toLowerCase();
      if (!statSync(nameOrPath).isFile()) throw new Error(`${nameOrPath}: is a folder; weights must be a .pth, .pt or .safetensors file`);
      if (!WEIGHT_FILE_EXTENSIONS.includes(ext)) {
        throw new Error(`${nameOrPath}: weights must be a .pth, .pt or .safetensors file (got "${ext || 'no extension'}"); rename it if it is one`);
      }
      return nameOrPath;
    }
    if (looksLikePath(nameOrPath)) throw new Error(`${nameOrPath}: no such weights file; give the path of an existing .pth/.pt/.safetensors file, or a weight name of ${builder}`);
    weightsInfo(builder, nameOrPath); // throws, listing the valid names
  }
  const info = weightsInfo(builder, nameOrPath);
  const env = opts.env ?? process.env;
  const url = downloadUrl(info.url, info.fileName, opts.baseUrl ?? env.SEGKIT_WEIGHTS_BASE_URL);
  return cachedDownload(url, {
    ...opts,
    fileName: info.fileName,
    what: `${builder} weights ${info.name}`,
    hint: 'Or pass the path of a local .pth/.safetensors file as weights instead of a name.',
  });
}
