// The loss config: a weighted sum of named terms, zod-validated, with errors that name the bad key
// and list the valid ones. The same form goes in a training config's `loss:` section.
//
//   { output: 'softmax', ignoreIndex: 255, auxWeight: 0.4,
//     terms: [{ name: 'focal', weight: 1.0, gamma: 2 }, { name: 'dice', weight: 0.5 }] }
//
// `output` says what the model's logits are: 'softmax' for C channels (N, C, H, W), two-class
// binary included; 'sigmoid' for binary with one channel (N, 1, H, W) and 0/1 targets.
import { z } from 'zod';

const weight = z.number().min(0).default(1);
const classes = z.enum(['present', 'all']).default('present');
const smooth = z.number().min(0).default(0);

/**
 * Class weights computed from the training masks (src/data/stats.ts classWeights): 'inverse'
 * N / (K n_c), 'max-over-count' max_k n_k / n_c (report 003's advice), 'median-frequency'
 * (Eigen & Fergus), 'enet' 1 / ln(1.02 + n_c / N). The trainer turns the name into numbers
 * from the train split before building the loss (resolveClassWeights).
 */
export const CLASS_WEIGHTINGS = ['inverse', 'max-over-count', 'median-frequency', 'enet'] as const;
export type ClassWeighting = (typeof CLASS_WEIGHTINGS)[number];
const classWeights = z.union([z.array(z.number().min(0)).min(1), z.enum(CLASS_WEIGHTINGS)]).optional();

export const termSchemas = {
  ce: z.object({ name: z.literal('ce'), weight, classWeights, labelSmoothing: z.number().min(0).max(1).default(0) }).strict(),
  bce: z.object({ name: z.literal('bce'), weight, posWeight: z.number().positive().optional() }).strict(),
  focal: z.object({ name: z.literal('focal'), weight, gamma: z.number().min(0).default(2), alpha: z.number().min(0).max(1).optional(), classWeights }).strict(),
  dice: z.object({ name: z.literal('dice'), weight, smooth, classes }).strict(),
  tversky: z.object({ name: z.literal('tversky'), weight, alpha: z.number().min(0).default(0.5), beta: z.number().min(0).default(0.5), smooth, classes }).strict(),
  lovasz: z.object({ name: z.literal('lovasz'), weight, perImage: z.boolean().default(false), classes }).strict(),
  boundary: z.object({ name: z.literal('boundary'), weight }).strict(),
} as const;

export type TermName = keyof typeof termSchemas;
export const TERM_NAMES = Object.keys(termSchemas) as TermName[];

const termSchema = z.discriminatedUnion('name', [termSchemas.ce, termSchemas.bce, termSchemas.focal, termSchemas.dice, termSchemas.tversky, termSchemas.lovasz, termSchemas.boundary]);

/** Terms that only make sense for one kind of output, and what to use instead. */
const ONLY: Partial<Record<TermName, { output: 'softmax' | 'sigmoid'; instead: string }>> = {
  ce: { output: 'softmax', instead: "use 'bce' for a one-channel sigmoid output" },
  bce: { output: 'sigmoid', instead: "use 'ce' for a softmax output (two-class binary included)" },
};

export const lossSpecSchema = z
  .object({
    output: z.enum(['softmax', 'sigmoid']).default('softmax'),
    ignoreIndex: z.number().int().optional(),
    /** Weight of the aux head's loss (same terms) when the model returns `aux`; torchvision's reference uses 0.5. */
    auxWeight: z.number().min(0).default(0.5),
    terms: z.array(termSchema).min(1),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.terms.forEach((t, i) => {
      const only = ONLY[t.name];
      if (only && only.output !== spec.output) {
        ctx.addIssue({ code: 'custom', path: ['terms', i, 'name'], message: `'${t.name}' needs output '${only.output}' (this spec has '${spec.output}'); ${only.instead}` });
      }
      if (t.name === 'focal' && spec.output === 'softmax' && t.alpha !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['terms', i, 'alpha'], message: "focal 'alpha' is the binary (sigmoid) foreground weight; for a softmax output use 'classWeights'" });
      }
      if (t.name === 'focal' && spec.output === 'sigmoid' && t.classWeights !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['terms', i, 'classWeights'], message: "focal 'classWeights' needs a softmax output; for one sigmoid channel use 'alpha'" });
      }
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['terms', i, 'name'], message: `'${t.name}' appears twice; give each loss once with its weight` });
      seen.add(t.name);
    });
  });

export type LossSpecInput = z.input<typeof lossSpecSchema>;
export type LossSpec = z.output<typeof lossSpecSchema>;
export type TermSpec = LossSpec['terms'][number];

/** The weighting names of a spec's terms (empty when every weight is given as numbers). */
export function classWeightingsOf(spec: { terms: readonly object[] }): ClassWeighting[] {
  return [...new Set(spec.terms.map((t) => (t as { classWeights?: unknown }).classWeights).filter((w): w is ClassWeighting => typeof w === 'string'))];
}

/** The spec with each weighting name replaced by its numbers (`weights[name]`, one per class). */
export function resolveClassWeights<S extends LossSpecInput>(spec: S, weights: Partial<Record<ClassWeighting, number[]>>): S {
  return {
    ...spec,
    terms: spec.terms.map((t) => {
      const w = (t as { classWeights?: unknown }).classWeights;
      if (typeof w !== 'string') return t;
      const numbers = weights[w as ClassWeighting];
      if (!numbers) throw new Error(`loss: class weights '${w}' were not computed; give them as numbers or let the trainer compute them from the train split`);
      return { ...t, classWeights: numbers };
    }),
  };
}

const SPEC_KEYS = ['output', 'ignoreIndex', 'auxWeight', 'terms'];

function where(path: PropertyKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '') || '(top level)';
}

function describe(issue: z.core.$ZodIssue, input: unknown): string {
  const at = where(issue.path);
  if (issue.code === 'invalid_union' && 'discriminator' in issue) {
    const given = typeof issue.path[1] === 'number' ? (input as { terms: { name?: unknown }[] }).terms[issue.path[1]]?.name : undefined;
    return `${at}: ${JSON.stringify(given)} is not a loss name; valid names: ${TERM_NAMES.join(', ')}`;
  }
  if (issue.code === 'unrecognized_keys') {
    let valid = SPEC_KEYS;
    if (issue.path[0] === 'terms' && typeof issue.path[1] === 'number') {
      const name = ((input as { terms: { name: TermName }[] }).terms[issue.path[1]] ?? {}).name;
      valid = Object.keys(termSchemas[name].shape);
    }
    return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}; valid keys: ${valid.join(', ')}`;
  }
  return `${at}: ${issue.message}`;
}

/** Validates a loss spec (defaults filled in); throws one error listing every problem. */
export function parseLossSpec(input: unknown, source = 'loss spec'): LossSpec {
  const r = lossSpecSchema.safeParse(input);
  if (!r.success) throw new Error(`${source} is invalid:\n${r.error.issues.map((i) => `  - ${describe(i, input)}`).join('\n')}`);
  return r.data;
}
