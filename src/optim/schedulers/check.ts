// Option checks shared by the schedulers. Every failure names the scheduler, the option, the
// value it got and the range it allows, so a bad config line is found at once.

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? JSON.stringify(v) : String(v));

export function fail(who: string, name: string, value: unknown, allowed: string): never {
  throw new Error(`${who}: option ${name} must be ${allowed}, got ${show(value)}`);
}

/** An integer >= min (and <= max when given). */
export function int(who: string, name: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(who, name, v, max === Infinity ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`);
  }
  return v;
}

export interface Range {
  min?: number;
  max?: number;
  /** Exclude the bound itself: `(min, ...` / `..., max)`. */
  minOpen?: boolean;
  maxOpen?: boolean;
}

function describe(r: Range): string {
  if (r.min === undefined && r.max === undefined) return 'a finite number';
  if (r.max === undefined) return `a finite number ${r.minOpen ? '>' : '>='} ${r.min}`;
  if (r.min === undefined) return `a finite number ${r.maxOpen ? '<' : '<='} ${r.max}`;
  return `a number in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.maxOpen ? ')' : ']'}`;
}

/** A finite number inside `r`. */
export function num(who: string, name: string, v: unknown, r: Range = {}): number {
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (r.min === undefined || (r.minOpen ? v > r.min : v >= r.min)) &&
    (r.max === undefined || (r.maxOpen ? v < r.max : v <= r.max));
  if (!ok) fail(who, name, v, describe(r));
  return v as number;
}

/** One number for every param group, or one per group. */
export function perGroup(who: string, name: string, v: unknown, groups: number, r: Range = {}): number[] {
  if (Array.isArray(v)) {
    if (v.length !== groups) fail(who, name, v, `a number or an array of ${groups} numbers (one per param group)`);
    return v.map((x, i) => num(who, `${name}[${i}]`, x, r));
  }
  return new Array<number>(groups).fill(num(who, name, v, r));
}

export function choice<T extends string>(who: string, name: string, v: unknown, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    fail(who, name, v, `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`);
  }
  return v as T;
}

export function bool(who: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(who, name, v, 'true or false');
  return v;
}

/** The options object itself: a plain object whose keys are all known. */
export function known(who: string, options: unknown, keys: readonly string[]): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`${who}: options must be an object, got ${show(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!keys.includes(k)) throw new Error(`${who}: unknown option ${k}; known options are ${keys.join(', ')}`);
  }
  return options as Record<string, unknown>;
}

/** A state-dict array of finite numbers, one per param group. */
export function groupNumbers(who: string, name: string, v: unknown, groups: number): number[] {
  if (!Array.isArray(v) || v.length !== groups || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(
      `${who}.loadStateDict: ${name} must be an array of ${groups} finite numbers (one per param group), got ${show(v)}; ` +
        'was the state saved with a different optimizer?',
    );
  }
  return v as number[];
}
