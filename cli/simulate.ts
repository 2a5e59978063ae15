import { createInterface } from 'node:readline';
import type { ButtonName } from '../core/ports/controls.js';
import { Simulation } from '../simulator/simulation.js';
import { systemClock } from '../core/clock.js';
import { InputError, describeError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { formatRupees } from '../core/money.js';
import { PageBridge } from '../simulator/web/bridge.js';
import { openInBrowser } from '../simulator/web/open-browser.js';
import { PageServer } from '../simulator/web/server.js';
import { integer, parse } from './args.js';
import type { CommandIo } from './main.js';

export const SIMULATE_HELP = `dakbox simulate [--dir var/sim] [--port 1883 | --broker mqtt://host:1883] [--devices N] [--size 480x320]
                [--lang en|hi|bn|kn] [--http-port PORT] [--no-open] [--auto-pay SECONDS] [--no-serial] [--verbose]
  The whole counter without hardware: a broker (embedded, or --broker), N
  devices and a stand-in payments backend, shown on a page in the browser
  (its address is printed as "simulator page: http://127.0.0.1:PORT/" and
  opened when there is a desktop; --no-open skips that): the LCD as the
  firmware drew it, the LEDs, the buttons, the speaker, the billing PC, the
  customer's phone, faults and records. Each device's LCD is also written to
  DIR/SIMnn/frames/screen.png and its announcements to DIR/SIMnn/sounds/;
  the billing PC's serial port is DIR/SIMnn/billing-pc. Type commands at the
  prompt (help lists them).`;

const CONSOLE_HELP = `commands:
  sale <amount> [note]   ring up a sale, as the billing PC does
  collect <amount>       the backend asks for a payment (MQTT collect)
  pay [amount]           the customer pays the QR on screen (another amount tests a mismatch)
  fail                   the bank reports the payment on screen failed
  cancel                 the clerk cancels the sale on screen
  press <button>         press volume-up, volume-down, replay or cancel on the device
  hold <button>          hold it for two seconds (replay: speak the status; cancel: info screen)
  status                 what the device is doing
  page                   print the simulator page's address again
  quit                   stop everything`;

const BUTTON_WORDS: Record<string, ButtonName> = { 'volume-up': 'volume-up', up: 'volume-up', 'volume-down': 'volume-down', down: 'volume-down', replay: 'replay', cancel: 'cancel-sale' };

export async function simulateCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, {
    dir: { type: 'string', default: 'var/sim' },
    port: { type: 'string', default: '1883' },
    broker: { type: 'string' },
    devices: { type: 'string', default: '1' },
    size: { type: 'string', default: '480x320' },
    'http-port': { type: 'string', default: '0' },
    'no-open': { type: 'boolean' },
    'auto-pay': { type: 'string' },
    lang: { type: 'string' },
    'no-serial': { type: 'boolean' },
    verbose: { type: 'boolean' },
  });
  const port = integer(values.port, '--port', 0, 65535) ?? 1883;
  const httpPort = integer(values['http-port'], '--http-port', 0, 65535) ?? 0;
  const devices = integer(values.devices, '--devices', 1, 32) ?? 1;
  const autoPay = integer(values['auto-pay'], '--auto-pay', 1, 3600);
  const log = createLogger({ pretty: true, level: values.verbose ? 'debug' : 'info' });
  const sim = await Simulation.start({
    dir: values.dir,
    port,
    log,
    clock: systemClock,
    devices,
    size: values.size,
    billingPty: !values['no-serial'],
    ...(values.broker ? { brokerUrl: values.broker } : {}),
    ...(values.lang ? { language: values.lang } : {}),
  });
  let page: PageServer;
  try {
    page = await PageServer.start({ simulation: new PageBridge(sim), port: httpPort, log });
  } catch (err) {
    await sim.stop();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new InputError('--http-port', `${httpPort} is in use; pick another or leave it out for a free one`);
    throw err;
  }
  const say = (line: string) => io.stdout.write(`${line}\n`);
  say(`dakbox simulator: ${sim.deviceIds.join(', ')} on broker ${sim.brokerUrl}`);
  for (const id of sim.deviceIds) {
    const counter = sim.counter(id);
    const serial = sim.billingPortOf(id);
    say(`  ${id}: screen → ${counter.dir}/frames/screen.png   sounds → ${counter.dir}/sounds/${serial ? `   billing PC serial port → ${serial}` : ''}`);
  }
  const firstSerial = sim.billingPort;
  if (firstSerial) say(`  (try: npx dakbox billing sale 250.00 --wait --port ${firstSerial})`);
  say(CONSOLE_HELP);
  // On its own line, exactly so, for people and for scripts that wait for it.
  say(`simulator page: ${page.url}`);
  if (!values['no-open']) openInBrowser(page.url);

  sim.on('qr', (shown) => {
    if (autoPay === undefined) return;
    setTimeout(() => {
      sim.backend.pay(shown.deviceId, shown.message.tr, { amount: shown.message.amount, payer: 'customer@okaxis' }).catch((err: unknown) => say(`auto-pay failed: ${describeError(err)}`));
    }, autoPay * 1000);
  });
  for (const id of sim.deviceIds) {
    const prefix = sim.deviceIds.length > 1 ? `${id}: ` : '';
    // A power cut starts a new Device: follow whichever is running.
    let unsubscribe = (): void => undefined;
    const follow = (): void => {
      unsubscribe();
      const off = sim.counter(id).device.counter.subscribe((event) => {
        if (event.type === 'qr') say(`${prefix}QR shown: ${formatRupees(event.sale.amount)} tr=${event.sale.tr}\n  ${event.sale.uri}`);
        else if (event.type === 'paid') say(`${prefix}PAID ${formatRupees(event.amount)} utr=${event.utr}${event.mismatch ? ` (asked ${formatRupees(event.asked)})` : ''}${event.late ? ' (late)' : ''}`);
        else say(`${prefix}${event.type.toUpperCase()} tr=${event.tr}`);
      });
      unsubscribe = () => void off();
    };
    follow();
    sim.counter(id).on('power', ({ on }) => {
      if (on) follow();
    });
  }
  const run = async (line: string): Promise<boolean> => {
    const [word = '', ...args] = line.trim().split(/\s+/);
    switch (word) {
      case '':
        return true;
      case 'help':
        say(CONSOLE_HELP);
        return true;
      case 'quit':
      case 'exit':
        return false;
      case 'sale': {
        const note = args.slice(1).join(' ');
        await sim.counter().sale({ amount: args[0] ?? '', ...(note ? { note } : {}) });
        return true;
      }
      case 'collect':
        await sim.collect(undefined, args[0] ?? '');
        return true;
      case 'pay':
        await sim.pay(undefined, args[0] ? { amount: args[0] } : {});
        return true;
      case 'fail':
        await sim.fail();
        return true;
      case 'page':
        say(`simulator page: ${page.url}`);
        return true;
      case 'cancel':
        await sim.device.counter.cancelSale();
        return true;
      case 'press':
      case 'hold': {
        const button = BUTTON_WORDS[args[0] ?? ''];
        if (!button) throw new InputError(word, `which button? one of ${Object.keys(BUTTON_WORDS).join(', ')}`);
        await sim.press(button, word === 'hold' ? 2200 : 150);
        return true;
      }
      case 'status': {
        const s = sim.counter().status();
        say(`link ${s.link}; ${s.sale ? `showing ${formatRupees(s.sale.amount)} (${s.sale.tr})` : 'idle'}; today ${s.todayCount} ${s.todayCount === 1 ? 'payment' : 'payments'}, ${formatRupees(s.todayTotal)}`);
        return true;
      }
      default:
        throw new InputError(word, 'is not a simulator command (help lists them)');
    }
  };

  const lines = createInterface({ input: process.stdin, terminal: false });
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve();
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    lines.on('line', (line) => {
      run(line).then(
        (more) => {
          if (!more) finish();
        },
        (err: unknown) => say(err instanceof InputError ? err.message : `failed: ${describeError(err)}`),
      );
    });
    // Without a terminal (a service, a pipe that closed) the simulator keeps
    // running until it is signalled.
  });
  // An open stdin would keep the process alive after everything stopped.
  lines.close();
  process.stdin.destroy();
  await page.stop();
  await sim.stop();
  return 0;
}
