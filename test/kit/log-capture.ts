import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';

export type LogRecord = Record<string, unknown> & { msg?: string; level?: string };

/** A pino destination that keeps every record and lets a test wait for one. */
export class LogCapture extends Writable {
  readonly records: LogRecord[] = [];
  readonly #events = new EventEmitter();

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const record = JSON.parse(line) as LogRecord;
      this.records.push(record);
      this.#events.emit('record', record);
    }
    done();
  }

  /** Resolves with the first record (past or future) that matches. */
  waitFor(match: (r: LogRecord) => boolean): Promise<LogRecord> {
    const found = this.records.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const listener = (r: LogRecord) => {
        if (!match(r)) return;
        this.#events.off('record', listener);
        resolve(r);
      };
      this.#events.on('record', listener);
    });
  }

  /** Everything logged, as one string, for "this secret never appears" assertions. */
  text(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n');
  }
}
