import { InputError } from '../core/errors.js';
import { FLEET_SIMULATE_USAGE, fleetSimulateCommand } from './fleet-simulate.js';
import { FLEET_CONFIG_USAGE, FLEET_STATUS_USAGE, fleetConfigCommand, fleetStatusCommand, type FleetIo } from './fleet-ops.js';

export const FLEET_HELP = `dakbox fleet <status|config|simulate> [...]
  The operator's view of many devices over MQTT with the backend's broker
  rights (their state, and remote settings sent to many at once), and a
  simulated fleet of real devices for measuring a broker.
  \`dakbox fleet --help\` lists the subcommands and their options.`;

const SUBCOMMANDS: Record<string, { usage: string; run: (argv: string[], io: FleetIo) => Promise<number> }> = {
  status: { usage: FLEET_STATUS_USAGE, run: fleetStatusCommand },
  config: { usage: FLEET_CONFIG_USAGE, run: fleetConfigCommand },
  simulate: { usage: FLEET_SIMULATE_USAGE, run: fleetSimulateCommand },
};

export async function fleetCommand(argv: string[], io: FleetIo): Promise<number> {
  const [name, ...rest] = argv;
  const usage = Object.values(SUBCOMMANDS)
    .map((s) => s.usage)
    .join('\n\n');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage}\n`);
    return name === undefined ? 2 : 0;
  }
  const subcommand = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!subcommand) throw new InputError(name, `is not a fleet subcommand (try: ${Object.keys(SUBCOMMANDS).join(', ')})`);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${subcommand.usage}\n`);
    return 0;
  }
  return subcommand.run(rest, io);
}
