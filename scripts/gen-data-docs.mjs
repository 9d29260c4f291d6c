// Rewrites the README's dataset-config / label-map reference from the zod schemas (after a build).
import { readFileSync, writeFileSync } from 'node:fs';
const { withReference } = await import('../dist/src/data/config-docs.js');
const readme = readFileSync('README.md', 'utf8');
const next = withReference(readme);
if (next !== readme) writeFileSync('README.md', next);
console.log(next === readme ? 'README reference up to date' : 'README reference regenerated');
