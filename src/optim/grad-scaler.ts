// Dynamic loss scaling for float16 mixed precision (torch.cuda.amp.GradScaler): multiply the loss
// by a large factor so small float16 gradients do not flush to zero, divide the gradients back
// before the optimizer step, skip steps whose gradients overflowed and lower the factor, and
// raise it again after `growthInterval` clean steps.
//
// libtorch 1.13 has the fused _amp_* kernels for CUDA only, so the check and the unscale are
// plain ops (isfinite, mul_) that run on any device, with one host sync per step for the
// skip decision, as in PyTorch. The scale itself is a float32 value kept in JS. With bfloat16
// autocast (CPU), scaling is unnecessary: pass `enabled: false` and the calls pass through.

import type { Tensor } from '../torch/tensor.js';
import { stack } from '../torch/create.js';
import { callOp } from '../torch/dispatch.js';
import { noGrad } from '../torch/modes.js';
import { tidy } from '../torch/scope.js';
import { bool, int, known, num } from './schedulers/check.js';

export interface GradScalerOptions {
  /** Initial scale (default 2**16). */
  initScale?: number;
  /** Factor applied after `growthInterval` steps without inf/NaN gradients (default 2). */
  growthFactor?: number;
  /** Factor applied when a step's gradients hold inf/NaN (default 0.5). */
  backoffFactor?: number;
  growthInterval?: number;
  /** false: scale() and unscale_() do nothing and step() always steps (default true). */
  enabled?: boolean;
}

/** PyTorch's GradScaler.state_dict() (plain JSON). */
export interface GradScalerState {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

/** What the scaler needs from an optimizer. */
export interface ScalableOptimizer {
  paramGroups: Array<{ params: Tensor[] }>;
  step(): void;
}

type Stage = 'ready' | 'unscaled' | 'stepped';

const WHO = 'GradScaler';
const KEYS = ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled'] as const;

export class GradScaler {
  #scale: number;
  #growthTracker = 0;
  #growthFactor: number;
  #backoffFactor: number;
  #growthInterval: number;
  readonly #enabled: boolean;
  // per optimizer since the last update(): where it is, and whether its gradients overflowed
  readonly #perOptimizer = new Map<ScalableOptimizer, { stage: Stage; foundInf?: boolean }>();

  constructor(options: GradScalerOptions = {}) {
    const o = known(WHO, options, KEYS);
    this.#scale = Math.fround(num(WHO, 'initScale', o.initScale ?? 2 ** 16, { min: 0, minOpen: true }));
    this.#growthFactor = num(WHO, 'growthFactor', o.growthFactor ?? 2, { min: 1, minOpen: true });
    this.#backoffFactor = num(WHO, 'backoffFactor', o.backoffFactor ?? 0.5, { min: 0, max: 1, minOpen: true, maxOpen: true });
    this.#growthInterval = int(WHO, 'growthInterval', o.growthInterval ?? 2000, 1);
    this.#enabled = bool(WHO, 'enabled', o.enabled ?? true);
  }

  isEnabled(): boolean {
    return this.#enabled;
  }

  /** The current scale (1 when disabled). */
  getScale(): number {
    return this.#enabled ? this.#scale : 1;
  }

  /** Clean steps counted towards the next growth. */
  getGrowthTracker(): number {
    return this.#growthTracker;
  }

  /** The loss (or losses) times the scale, as new tensors to call backward() on and dispose. */
  scale(outputs: Tensor): Tensor;
  scale(outputs: Tensor[]): Tensor[];
  scale(outputs: Tensor | Tensor[]): Tensor | Tensor[] {
    const one = (t: Tensor): Tensor => (this.#enabled ? t.mul(this.#scale) : t.share());
    return Array.isArray(outputs) ? outputs.map(one) : one(outputs);
  }

  /**
   * Divides the optimizer's gradients by the scale, in place, and records whether any was
   * inf/NaN. Call it before clipping gradients; step() then does not unscale again.
   */
  unscale_(optimizer: ScalableOptimizer): void {
    if (!this.#enabled) return;
    const st = this.#state(optimizer);
    if (st.stage === 'unscaled') throw new Error(`${WHO}.unscale_: already called for this optimizer since the last update(); call it once per step`);
    if (st.stage === 'stepped') throw new Error(`${WHO}.unscale_: called after step(); unscale before step(), then update()`);
    // PyTorch: scale.double().reciprocal().float()
    const inv = Math.fround(1 / this.#scale);
    st.foundInf = noGrad(() =>
      tidy(() => {
        const finite: Tensor[] = [];
        let device = '';
        for (const group of optimizer.paramGroups) {
          for (const p of group.params) {
            const g = p.grad;
            if (!g) continue;
            if (g.dtype === 'float16') {
              throw new Error(`${WHO}.unscale_: a gradient is float16; keep the parameters float32 and let autocast run the ops in float16`);
            }
            device ||= g.device;
            const ok = callOp('isfinite', g).all();
            finite.push(ok.device === device ? ok : ok.to({ device }));
            g.mul_(inv);
          }
        }
        return finite.length > 0 && !Boolean(stack(finite).all().item());
      }),
    );
    st.stage = 'unscaled';
  }

  /**
   * Unscales (unless unscale_ was called) and runs optimizer.step() if every gradient is finite.
   * Returns whether the step was taken (a skipped step is a sign to not advance an lr schedule
   * tied to optimizer steps, if that matters to you).
   */
  step(optimizer: ScalableOptimizer): boolean {
    if (!this.#enabled) {
      optimizer.step();
      return true;
    }
    const st = this.#state(optimizer);
    if (st.stage === 'stepped') throw new Error(`${WHO}.step: already called for this optimizer since the last update(); call update() once per iteration`);
    if (st.stage === 'ready') this.unscale_(optimizer);
    st.stage = 'stepped';
    if (st.foundInf) return false;
    optimizer.step();
    return true;
  }

  /**
   * Adjusts the scale once per iteration, after step(): times backoffFactor if any optimizer saw
   * inf/NaN gradients, times growthFactor after growthInterval clean steps in a row. `newScale`
   * sets it directly instead.
   */
  update(newScale?: number): void {
    if (!this.#enabled) return;
    if (newScale !== undefined) {
      this.#scale = Math.fround(num(`${WHO}.update`, 'newScale', newScale, { min: 0, minOpen: true }));
    } else {
      const checks = [...this.#perOptimizer.values()].filter((s) => s.foundInf !== undefined);
      if (checks.length === 0) throw new Error(`${WHO}.update: no inf checks were recorded; call step(optimizer) (or unscale_) before update()`);
      // the arithmetic of PyTorch's _amp_update_scale_ kernel: float32 scale, int tracker
      if (checks.some((s) => s.foundInf)) {
        this.#scale = Math.fround(this.#scale * this.#backoffFactor);
        this.#growthTracker = 0;
      } else if (this.#growthTracker + 1 === this.#growthInterval) {
        const grown = Math.fround(this.#scale * this.#growthFactor);
        if (Number.isFinite(grown)) this.#scale = grown; // never grow past float32's range
        this.#growthTracker = 0;
      } else {
        this.#growthTracker += 1;
      }
    }
    this.#perOptimizer.clear();
  }

  #state(optimizer: ScalableOptimizer): { stage: Stage; foundInf?: boolean } {
    let st = this.#perOptimizer.get(optimizer);
    if (!st) this.#perOptimizer.set(optimizer, (st = { stage: 'ready' }));
    return st;
  }

  /** PyTorch's layout; empty when disabled. */
  stateDict(): GradScalerState | Record<string, never> {
    if (!this.#enabled) return {};
    return {
      scale: this.#scale,
      growth_factor: this.#growthFactor,
      backoff_factor: this.#backoffFactor,
      growth_interval: this.#growthInterval,
      _growth_tracker: this.#growthTracker,
    };
  }

  loadStateDict(state: GradScalerState | Record<string, never>): void {
    const who = `${WHO}.loadStateDict`;
    if (!this.#enabled) throw new Error(`${who}: this scaler is disabled; build it with enabled: true to load a state`);
    if (state === null || typeof state !== 'object' || Object.keys(state).length === 0) {
      throw new Error(`${who}: the state is empty, probably saved from a disabled GradScaler`);
    }
    const s = state as GradScalerState;
    const scale = num(who, 'scale', s.scale, { min: 0, minOpen: true });
    const growth = num(who, 'growth_factor', s.growth_factor, { min: 1, minOpen: true });
    const backoff = num(who, 'backoff_factor', s.backoff_factor, { min: 0, max: 1, minOpen: true, maxOpen: true });
    const interval = int(who, 'growth_interval', s.growth_interval, 1);
    const tracker = int(who, '_growth_tracker', s._growth_tracker, 0);
    this.#scale = Math.fround(scale);
    this.#growthFactor = growth;
    this.#backoffFactor = backoff;
    this.#growthInterval = interval;
    this.#growthTracker = tracker;
  }
}
