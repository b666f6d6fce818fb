// Go-style durations ("90s", "2m", "1h30m", "250ms"), the form operators already write
// for every other piece of infrastructure. A bare number is refused: "30" could mean
// seconds or milliseconds, and guessing wrong silently is worse than an error.
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Parses a duration into milliseconds, or returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const input = text.trim();
  if (input === '0') return 0;
  if (input === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const start = PART.lastIndex;
    const match = PART.exec(input);
    if (!match || match.index !== start) return undefined;
    const [, amount, unit] = match;
    total += Number(amount) * (UNITS[unit as string] as number);
  }
  return Math.round(total);
}

/** Formats milliseconds back into the shortest duration text (for docs and logs). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
