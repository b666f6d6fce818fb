import { Command } from 'commander';
import { createLogger } from '../observability/index.ts';
import { type RunningServer, startServer } from '../runtime/index.ts';
import { addConfigFlags, configFromCommand } from './config-flags.ts';
import { exitWithError } from './exit.ts';

export function serverCommand(): Command {
  const command = new Command('server').description('Run the Latchkey server.');
  addConfigFlags(command);
  command.action(async () => {
    const config = configFromCommand(command);
    const logger = createLogger(config.logLevel);
    let server: RunningServer | undefined;
    let stopRequested = false;

    const shutdown = (reason: string, code: number) => {
      if (stopRequested) {
        logger.warn({ reason }, 'second stop request: exiting without waiting');
        process.exit(130);
      }
      stopRequested = true;
      logger.info({ reason }, 'shutting down');
      // Before start-up finishes there is nothing to close yet; the start path sees
      // stopRequested and closes what it started.
      server?.close().then(
        () => process.exit(code),
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT', 0));
    process.on('SIGTERM', () => shutdown('SIGTERM', 0));
    process.on('uncaughtException', (err) => {
      logger.fatal({ err }, 'uncaught exception');
      stopRequested = false;
      shutdown('uncaught exception', 1);
    });

    try {
      server = await startServer({ config, logger });
    } catch (err) {
      logger.flush();
      exitWithError(err);
    }
    if (stopRequested) {
      await server.close();
      process.exit(0);
    }
  });
  return command;
}
