/** Where progress goes: a terminal gets a bar redrawn in place, anything else plain lines. */
export interface ProgressStream {
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  write(text: string): unknown;
}

export interface ProgressReporter {
  update(done: number, total: number): void;
  /** Ends the bar (a newline on a terminal) and prints the last figures. */
  finish(done: number, total: number): void;
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;
const LINE_EVERY_MS = 2_000;

/**
 * Progress of long CLI work (CONVENTIONS: a bar on a TTY, plain lines otherwise): on a
 * terminal a bar redrawn at most ten times a second; otherwise a line at each tenth of the
 * work and at least every two seconds, so logs and CI show it moving without flooding.
 */
export function progressReporter(
  stream: ProgressStream,
  label: string,
  clock: () => number = Date.now,
): ProgressReporter {
  const started = clock();
  let lastDraw = 0;
  let lastTenth = -1;
  const rate = (done: number) => {
    const seconds = (clock() - started) / 1000;
    return seconds > 0 ? Math.round(done / seconds) : 0;
  };
  const figures = (done: number, total: number) =>
    `${fmt(done)}/${fmt(total)} rows (${percent(done, total)}%), ${fmt(rate(done))} rows/s`;

  if (stream.isTTY) {
    const draw = (done: number, total: number) => {
      const filled = total === 0 ? BAR_WIDTH : Math.round((BAR_WIDTH * Math.min(done, total)) / total);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
      stream.write(`\r${label} [${bar}] ${figures(done, total)}\u001b[K`);
    };
    return {
      update(done, total) {
        const now = clock();
        if (now - lastDraw < REDRAW_MS) return;
        lastDraw = now;
        draw(done, total);
      },
      finish(done, total) {
        draw(done, total);
        stream.write('\n');
      },
    };
  }
  return {
    update(done, total) {
      const now = clock();
      const tenth = total === 0 ? 10 : Math.floor((10 * done) / total);
      if (tenth === lastTenth && now - lastDraw < LINE_EVERY_MS) return;
      lastTenth = tenth;
      lastDraw = now;
      stream.write(`${label}: ${figures(done, total)}\n`);
    },
    finish(done, total) {
      stream.write(`${label}: done, ${figures(done, total)}\n`);
    },
  };
}

function percent(done: number, total: number): number {
  return total === 0 ? 100 : Math.floor((100 * Math.min(done, total)) / total);
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
