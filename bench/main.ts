// `npm run bench`: run each workload's runners with the same thread count, several rounds with the
// runners' order alternating (so slow drifts of a shared machine fall on every runner alike), and
// print a table (or, with --json, one JSON object) of throughput, GFLOP/s, peak RSS and the
// ratio segkit / peers. See bench/README.md.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatText, summarise, toJson, type WorkloadReport } from './harness/report.js';
import { combineRounds, runRunner, type Row, type RunSettings } from './harness/run.js';
import { cpuInfo } from '../src/nn/cpu.js';
import { imagesPerSecond, workloads } from './harness/workloads.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url)); // this file is dist/bench/main.js

const USAGE = `usage: npm run bench -- [--only NAME[,NAME]] [--threads N] [--reps N] [--rounds N] [--json] [--verbose] [--timeout S] [--list]
  --only      workloads to run (default: all); --list shows them
  --threads   intra-op threads for every runner (default: nproc = ${availableParallelism()})
  --reps      timed repetitions per runner, median reported (default 5)
  --rounds    rounds per workload, runner order reversed every other round; ratios are
              paired per round and reported as median (lowest-highest) (default 3)
  --json      print one JSON object on stdout instead of the table
  --verbose   show each runner's progress (per-rep times) on stderr
  --timeout   seconds before a runner is killed (default 1800)`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"\n${USAGE}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      threads: { type: 'string' },
      reps: { type: 'string' },
      rounds: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    for (const w of workloads) console.log(`${w.name.padEnd(16)} ${w.description}\n${' '.repeat(17)}runners: ${w.runners.map((r) => r.name).join(', ')}`);
    return 0;
  }
  const settings: RunSettings = {
    root: repoRoot,
    threads: positiveInt('threads', values.threads, availableParallelism()),
    reps: positiveInt('reps', values.reps, 5),
    timeoutS: positiveInt('timeout', values.timeout, 1800),
    verbose: values.verbose,
  };
  const names = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : workloads.map((w) => w.name);
  const unknown = names.filter((n) => !workloads.some((w) => w.name === n));
  if (unknown.length > 0) throw new Error(`unknown workload ${unknown.join(', ')}; known: ${workloads.map((w) => w.name).join(', ')}`);

  const rounds = positiveInt('rounds', values.rounds, 3);
  const started = new Date().toISOString();
  const cpu = cpuInfo();
  const reports: WorkloadReport[] = [];
  for (const w of workloads.filter((w) => names.includes(w.name))) {
    const key = (w.metric ?? imagesPerSecond).key;
    const runs = new Map<string, Row[]>(w.runners.map((r) => [r.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const r of round % 2 === 0 ? w.runners : [...w.runners].reverse()) {
        const done = runs.get(r.name)!;
        if (done.length > 0 && done[0]!.status !== 'ok') continue; // missing or failed: once is enough
        process.stderr.write(`${w.name} / ${r.name} (round ${round + 1}/${rounds}) ...\n`);
        const row = await runRunner(w, r, settings, key);
        const v = row.line?.[key];
        process.stderr.write(`${w.name} / ${r.name}: ${row.status === 'ok' ? `${typeof v === 'number' ? v.toPrecision(3) : v} ${(w.metric ?? imagesPerSecond).label}` : row.status}` + (row.wall_s ? ` (${row.wall_s.toFixed(0)} s)\n` : '\n'));
        done.push(row);
      }
    }
    reports.push(summarise(w, w.runners.map((r) => combineRounds(runs.get(r.name)!, key))));
  }
  const meta = { threads: settings.threads, reps: settings.reps, rounds, started, node: process.version, cpu: `${cpu.model} (${cpu.vectorExtensions.join(' ') || 'no AVX'})` };
  if (values.json) console.log(JSON.stringify(toJson(reports, meta), null, 2));
  else console.log('\n' + formatText(reports, meta));
  // Missing or not-yet-implemented runners are expected while segkit grows; a failing one is not.
  return reports.some((w) => w.rows.some((r) => r.status === 'failed')) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    const usage = (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? `\n${USAGE}` : '';
    process.stderr.write(`bench: ${msg}${usage}\n`);
    process.exit(2);
  },
);
