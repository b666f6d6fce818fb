/**
 * Micro-benchmark timing. A workload is `run(reps)`: it does `reps` repetitions of its
 * work and returns a number derived from every result (folded into a checksum that is
 * printed, so the optimiser cannot drop the work). Batches keep `performance.now()` out
 * of the hot loop: `calibrate` finds a repetition count whose call takes ~`batchMs`.
 */
export type Workload = (reps: number) => number;

export interface Timed {
  /** Repetitions per second. */
  readonly perSecond: number;
  readonly reps: number;
  readonly result: number;
}

/** Warms `run` up for about `seconds` and returns a batch size taking ~`batchMs`. */
export function calibrate(run: Workload, seconds: number, batchMs = 5): number {
  let reps = 1;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    run(reps);
    if (performance.now() - t < batchMs) reps *= 2;
  }
  return reps;
}

/** Calls `run(batch)` until `seconds` have passed. */
export function timeFor(run: Workload, batch: number, seconds: number): Timed {
  let reps = 0;
  let result = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    result += run(batch);
    reps += batch;
    now = performance.now();
  }
  return { perSecond: reps / ((now - start) / 1000), reps, result };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
