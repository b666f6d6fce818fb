import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Ratio against the baseline measured in the same run, when there is one. */
  readonly ratio?: number;
  readonly target?: string;
  readonly met?: boolean;
}

/** Prints the figures and writes them, with the machine they ran on, to bench/results/. */
export function report(bench: string, figures: readonly Figure[], extra: Record<string, unknown> = {}): void {
  console.log(`\n== ${bench}`);
  for (const f of figures) {
    const ratio = f.ratio === undefined ? '' : `  ratio ${f.ratio.toFixed(2)}`;
    const target = f.target === undefined ? '' : `  target ${f.target} ${f.met ? 'MET' : 'MISSED'}`;
    console.log(
      `  ${f.name.padEnd(44)} ${f.value.toFixed(f.unit === 'req/s' ? 0 : 2).padStart(10)} ${f.unit}${ratio}${target}`,
    );
  }
  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const body = {
    bench,
    at,
    node: process.version,
    cpus: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    figures,
    ...extra,
  };
  writeFileSync(
    new URL(`${bench}-${at.replace(/[:.]/g, '-')}.json`, dir),
    `${JSON.stringify(body, null, 2)}\n`,
  );
  writeFileSync(new URL(`${bench}-latest.json`, dir), `${JSON.stringify(body, null, 2)}\n`);
}
