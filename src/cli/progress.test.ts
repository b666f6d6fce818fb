import { describe, expect, it } from 'vitest';
import { progressReporter } from './progress.ts';

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { isTTY, out, write: (t: string) => out.push(t) };
}

describe('progress', () => {
  it('draws a bar in place on a terminal, at most ten times a second', () => {
    let now = 0;
    const s = sink(true);
    const p = progressReporter(s, 'rotate', () => now);
    now = 200;
    p.update(500, 1000);
    p.update(600, 1000);
    p.finish(1000, 1000);
    expect(s.out).toHaveLength(3);
    expect(s.out[0]).toMatch(/^\rrotate \[#{15}-{15}\] 500\/1,000 rows \(50%\)/);
    expect(s.out[1]).toMatch(/\[#{30}\] 1,000\/1,000 rows \(100%\)/);
    expect(s.out[2]).toBe('\n');
  });

  it('prints a plain line per tenth of the work otherwise', () => {
    let now = 0;
    const s = sink(false);
    const p = progressReporter(s, 'decrypt', () => now);
    for (let done = 0; done <= 1000; done += 50) {
      now += 10;
      p.update(done, 1000);
    }
    p.finish(1000, 1000);
    expect(s.out).toHaveLength(12);
    expect(s.out[5]).toMatch(/^decrypt: 500\/1,000 rows \(50%\), [\d,]+ rows\/s\n$/);
    expect(s.out.at(-1)).toMatch(/^decrypt: done, 1,000\/1,000 rows/);
    expect(s.out.join('')).not.toContain('\r');
  });
});
