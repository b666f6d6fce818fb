import { type Command, Option } from 'commander';
import {
  type Config,
  ConfigError,
  flagName,
  loadConfig,
  OPTION_LIST,
  type OptionDef,
} from '../config/index.ts';

/** Adds a flag for each option; --help then lists every option with its env var and default. */
export function addConfigFlags(command: Command, only?: (def: OptionDef<unknown>) => boolean): Command {
  command.addOption(new Option('--config <path>', 'YAML or JSON config file (env: LATCHKEY_CONFIG)'));
  for (const def of OPTION_LIST) {
    if (only && !only(def)) continue;
    const fallback = def.default === undefined ? '' : `, default: ${def.default}`;
    command.addOption(
      new Option(`--${flagName(def)} <${def.valueName}>`, `${def.description} (env: ${def.env}${fallback})`),
    );
  }
  return command;
}

/** Config from this command's flags, the environment and the config file. */
export function configFromCommand(command: Command): Config {
  const opts = command.opts<Record<string, string | undefined>>();
  return loadConfig({ env: process.env, flags: opts, configFile: opts.config });
}

export { ConfigError };
