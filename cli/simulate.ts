import { createInterface } from 'node:readline';
import type { ButtonName } from '../core/ports/controls.js';
import { Simulation } from '../simulator/simulation.js';
import { systemClock } from '../core/clock.js';
import { InputError, describeError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { formatRupees, formatWireAmount, parseAmountInput } from '../core/money.js';
import { integer, parse } from './args.js';
import type { CommandIo } from './main.js';

export const SIMULATE_HELP = `dakbox simulate [--dir var/sim] [--port 1883] [--auto-pay SECONDS] [--lang en|hi|bn|kn] [--no-serial] [--verbose]
  The whole counter without hardware: an embedded broker, one device (LCD
  frames as PNG in DIR/frames, announcements as WAV in DIR/sounds, buttons on
  a virtual IO plugin, the billing PC's serial port at DIR/billing-pc) and a
  stand-in payments backend. Type commands at the prompt (help lists them).`;

const CONSOLE_HELP = `commands:
  sale <amount> [note]   ring up a sale, as the billing PC does
  collect <amount>       the backend asks for a payment (MQTT collect)
  pay [amount]           the customer pays the QR on screen (another amount tests a mismatch)
  fail                   the bank reports the payment on screen failed
  cancel                 the clerk cancels the sale on screen
  press <button>         press volume-up, volume-down, replay or cancel on the device
  hold <button>          hold it for two seconds (replay: speak the status; cancel: info screen)
  status                 what the device is doing
  quit                   stop everything`;

const BUTTON_WORDS: Record<string, ButtonName> = { 'volume-up': 'volume-up', up: 'volume-up', 'volume-down': 'volume-down', down: 'volume-down', replay: 'replay', cancel: 'cancel-sale' };

export async function simulateCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, {
    dir: { type: 'string', default: 'var/sim' },
    port: { type: 'string', default: '1883' },
    'auto-pay': { type: 'string' },
    lang: { type: 'string' },
    'no-serial': { type: 'boolean' },
    verbose: { type: 'boolean' },
  });
  const port = integer(values.port, '--port', 0, 65535) ?? 1883;
  const autoPay = integer(values['auto-pay'], '--auto-pay', 1, 3600);
  const log = createLogger({ pretty: true, level: values.verbose ? 'debug' : 'info' });
  const sim = await Simulation.start({
    dir: values.dir,
    port,
    log,
    clock: systemClock,
    billingPty: !values['no-serial'],
    ...(values.lang ? { language: values.lang } : {}),
  });
  const say = (line: string) => io.stdout.write(`${line}\n`);
  say(`dakbox simulator: device ${sim.deviceId}, broker ${sim.broker.url}`);
  say(`  screen → ${sim.dir}/frames/screen.png   sounds → ${sim.dir}/sounds/   ledger → ${sim.dir}/${sim.device.settings.ledger}`);
  if (sim.billingPort) say(`  billing PC serial port → ${sim.billingPort}   (try: npx dakbox billing sale 250.00 --wait --port ${sim.billingPort})`);
  say(CONSOLE_HELP);

  const onScreen = () => sim.device.counter.status().sale;
  sim.backend.on('qr', (shown) => {
    if (autoPay === undefined) return;
    setTimeout(() => {
      sim.backend.pay(shown.deviceId, shown.message.tr, { amount: shown.message.amount, payer: 'customer@okaxis' }).catch((err: unknown) => say(`auto-pay failed: ${describeError(err)}`));
    }, autoPay * 1000);
  });
  sim.device.counter.subscribe((event) => {
    if (event.type === 'qr') say(`QR shown: ${formatRupees(event.sale.amount)} tr=${event.sale.tr}\n  ${event.sale.uri}`);
    else if (event.type === 'paid') say(`PAID ${formatRupees(event.amount)} utr=${event.utr}${event.mismatch ? ` (asked ${formatRupees(event.asked)})` : ''}${event.late ? ' (late)' : ''}`);
    else say(`${event.type.toUpperCase()} tr=${event.tr}`);
  });

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
        await sim.device.counter.startSale({ amount: parseAmountInput(args[0]), source: 'simulator', ...(note ? { note } : {}) });
        return true;
      }
      case 'collect':
        await sim.backend.collect(sim.deviceId, { v: 1, id: `sim-${Date.now()}`, amount: formatWireAmount(parseAmountInput(args[0])) });
        return true;
      case 'pay':
      case 'fail': {
        const sale = onScreen();
        if (!sale) throw new InputError(word, 'no QR is on screen');
        const amount = args[0] ? formatWireAmount(parseAmountInput(args[0])) : formatWireAmount(sale.amount);
        await sim.backend.pay(sim.deviceId, sale.tr, { amount, status: word === 'pay' ? 'SUCCESS' : 'FAILED', payer: 'customer@okaxis' });
        return true;
      }
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
        const s = sim.device.counter.status();
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
  await sim.stop();
  return 0;
}
