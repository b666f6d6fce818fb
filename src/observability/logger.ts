import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config/index.ts';

export type { Logger };

// Paths pino blanks out in every log record. Request logging never includes headers or
// bodies; this is the net under that promise, so a later `log.info({ req })` or
// `log.warn({ token })` cannot leak a credential. Explicit paths only: a wildcard such as
// `*.password` makes pino walk every object of every line, which was the single largest
// cost of an authenticated request (see bench/auth.ts).
const SECRET_KEYS = [
  'password',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'client_secret',
  'session_token',
  'key',
];
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["latchkey-session-token"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'databaseUrl',
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `body.${k}`),
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'latchkey' },
      timestamp: isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? logDestination(),
  );
}

/**
 * Where the server's lines go (stdout by default): written asynchronously, as they come,
 * by SonicBoom in buffer mode. In its default string mode SonicBoom measures the UTF-8
 * length of the whole pending chunk again for every line added while a write is in
 * flight, which under load is most lines: each then costs a flattened copy of up to
 * 16 KiB and its garbage. Encoding each line once is cheaper. Pending lines are still
 * flushed on exit (pino.destination registers the stream for that).
 */
export function logDestination(dest: number | string = 1): DestinationStream {
  // SonicBoom's types predate buffer mode, where write takes a Buffer. Looked up on every
  // call: on EPIPE pino replaces the stream's write with a no-op.
  const boom = pino.destination({ dest, sync: false, contentMode: 'buffer' }) as unknown as {
    write(chunk: Buffer): boolean;
    flush(cb?: (err?: Error) => void): void;
  };
  return {
    write: (line: string) => boom.write(Buffer.from(line)),
    // pino's logger.flush() calls this when present.
    flush: (cb?: (err?: Error) => void) => boom.flush(cb),
  } as DestinationStream;
}

// pino's isoTime formats a Date for every line; one formatting per millisecond is enough.
let stampedAt = 0;
let stamp = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}
