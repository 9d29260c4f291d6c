// Loads the compiled Node-API addon (build/Release/segkit.node) and types its functions.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingAddonMessage } from '../install-help.js';

export type Handle = number;

export interface OpInfo {
  id: number;
  returns: Array<'Tensor' | 'Tensor?' | 'Tensor[]' | 'alias' | 'value'>;
  writes: number[];
  args: string[];
  /** per argument: whether the schema takes a tensor (or list of tensors) there */
  tensorArgs: boolean[];
}

export interface SchemaArg { name: string; type: string; hasDefault: boolean; kwargOnly: boolean; write: boolean }
export interface SchemaInfo { name: string; overload: string; schema: string; args: SchemaArg[]; returns: { type: string; alias: boolean }[] }

export interface TensorInfo {
  shape: number[];
  strides: number[];
  dtype: string;
  device: string;
  requiresGrad: boolean;
  isLeaf: boolean;
  channelsLast: boolean;
  gradFn: string | null;
}

export interface Native {
  resolveOp(name: string, overload: string): OpInfo;
  callOp(id: number, args: unknown[]): unknown;
  listSchemas(): SchemaInfo[];
  fromBytes(bytes: ArrayBufferView, shape: number[], dtype: string): Handle;
  shareBytes(bytes: ArrayBufferView, shape: number[], dtype: string): Handle;
  toBytes(h: Handle): ArrayBuffer;
  dataView(h: Handle): ArrayBuffer;
  info(h: Handle): TensorInfo;
  shape(h: Handle): number[];
  item(h: Handle): number | boolean;
  dispose(h: Handle): void;
  share(h: Handle): Handle;
  grad(h: Handle): Handle | undefined;
  setGrad(h: Handle, g: Handle | null): void;
  setRequiresGrad(h: Handle, flag: boolean): void;
  retainGrad(h: Handle): void;
  backward(outputs: Handle[], grads: (Handle | null)[] | null, retainGraph: boolean, createGraph: boolean): void;
  manualSeed(seed: number): void;
  buildInfo(): { torchVersion: string; cxx11Abi: boolean; cuda: boolean; mkldnn: boolean; parallel: string; config: string };
  cudaAvailable(): boolean;
  beginAsync(): void;
  endAsync(): Promise<void>;
  sync(): void;
  setMode(grad: boolean, inference: boolean, autocastCpu: boolean, autocastCuda: boolean, cpuDtype: string, cudaDtype: string): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  memory(): { tensors: number; bytes: number; cachedBytes: number };
  emptyCache(): void;
  setCacheLimit(bytes: number): void;
}

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

function load(): Native {
  const path = join(findRoot(), 'build', 'Release', 'segkit.node');
  if (!existsSync(path)) {
    throw new Error(missingAddonMessage(path, findRoot()));
  }
  return createRequire(import.meta.url)(path) as Native;
}

export const native: Native = load();
