// Randomness of a training run, made resumable without saving generator internals: libtorch's
// global generator is reseeded from (run seed, step) before every step, so dropout and any other
// torch randomness of step k is the same in an uninterrupted and a resumed run. The loader's
// shuffling and augmentations already derive from (seed, epoch, index) and its saved position.
import { manualSeed } from '../torch/index.js';
import { mixSeed } from '../data/transforms/rng.js';

/** What a checkpoint records about the RNG: the scheme and the run seed are all it takes. */
export interface RngState {
  scheme: 'per-step-reseed';
  seed: number;
}

/** Seeds libtorch for model initialisation (before the model is built). */
export function seedInit(seed: number): void {
  manualSeed(mixSeed(seed, 0x1e17));
}

/** Seeds libtorch for training step `step` (0-based). */
export function seedStep(seed: number, step: number): void {
  manualSeed(mixSeed(seed, 0x57e9, step));
}

export function rngState(seed: number): RngState {
  return { scheme: 'per-step-reseed', seed };
}
