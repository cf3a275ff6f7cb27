/**
 * `npm run bench -- [lean] [--only id,id] [--out PATH] [--list]`: which benchmarks to run and where the JSON goes.
 * Parsed strictly (node:util parseArgs): a typo is an error, not a silently full run.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run bench -- [lean] [--only ID[,ID...]] [--out PATH] [--list]
  lean          only issue 12's rows ("Lean": memory, boot, CLI, latency, throughput)
  --only IDS    only these benchmarks (comma-separated or repeated; --list names them)
  --out PATH    write the JSON here (default: bench/results.json)
  --list        print the benchmark ids and exit`;

export interface BenchArgs {
  readonly lean: boolean;
  /** Ids asked for with --only; empty: every benchmark of the selection. */
  readonly only: readonly string[];
  readonly out: string;
  readonly list: boolean;
  readonly help: boolean;
}

export function parseBenchArgs(argv: readonly string[], repoRoot: string, known: readonly string[]): BenchArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { only: { type: 'string', multiple: true }, out: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: true,
  });
  for (const p of positionals) if (p !== 'lean') throw new Error(`${p}: unknown argument (the only selection word is "lean")\n${USAGE}`);
  const only = (values.only ?? []).flatMap((o) => o.split(',')).map((o) => o.trim()).filter((o) => o !== '');
  const unknown = only.filter((o) => !known.includes(o));
  if (unknown.length > 0) throw new Error(`--only ${unknown.join(',')}: no such benchmark (known: ${known.join(', ')})`);
  return {
    lean: positionals.includes('lean'),
    only,
    out: path.resolve(repoRoot, values.out ?? path.join('bench', 'results.json')),
    list: values.list ?? false,
    help: values.help ?? false,
  };
}

export interface Selectable { readonly id: string; readonly lean: boolean }

/** The benchmarks to run, in their declared order: --only wins, else lean ones for `lean`, else all. */
export function selectBenches<T extends Selectable>(all: readonly T[], args: Pick<BenchArgs, 'lean' | 'only'>): T[] {
  if (args.only.length > 0) return all.filter((b) => args.only.includes(b.id));
  return args.lean ? all.filter((b) => b.lean) : [...all];
}
