import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config/index.ts';

export type { Logger };

// Paths pino blanks out wherever they appear in a log record. Request logging never
// includes headers or bodies today; this is the net under that promise, so a later
// `log.info({ req })` cannot leak a credential.
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["latchkey-session-token"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.databaseUrl',
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
