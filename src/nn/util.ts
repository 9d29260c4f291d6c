// Small helpers shared by the layers: size arguments and Python-style printing for extraRepr.

export type Pair = number | [number, number];

/** 3 → [3, 3]; [3, 5] → [3, 5] (PyTorch's _pair). */
export function pair(v: Pair): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (!Array.isArray(v) || v.length !== 2) throw new Error(`expected a number or a pair [h, w], got ${JSON.stringify(v)}`);
  return [v[0], v[1]];
}

export const pyBool = (b: boolean): string => (b ? 'True' : 'False');

/** A float as Python's repr writes it: 0.1, 1e-05, 2.0. */
export function pyFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    const [m, e] = x.toExponential().split('e');
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(x);
}

/** A tuple of ints as Python prints it: (3, 3), (4,). */
export const pyTuple = (v: readonly number[]): string => (v.length === 1 ? `(${v[0]},)` : `(${v.join(', ')})`);

/** An int or a tuple of ints, as given. */
export const pyIntOrTuple = (v: number | readonly number[]): string => (typeof v === 'number' ? String(v) : pyTuple(v));
