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
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
