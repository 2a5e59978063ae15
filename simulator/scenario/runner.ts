import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InputError, describeError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { formatWireAmount, parseAmountInput } from '../../core/money.js';
import { HOLD_MS, PRESS_MS, Simulation, type BillingEvent, type SimulationEvents, type SpeechEvent } from '../simulation.js';
import { compareGolden, decodeQr, laidOutText, qrSignatureChecks, uriField } from './glass-reader.js';
import { parseScenario, type Scenario, type Step, type StepArgs } from './schema.js';

/** How long a wait step waits unless it says otherwise. */
export const DEFAULT_WAIT_MS = 10_000;
/** How long `once` listens for a sentence said again. */
export const DEFAULT_SETTLE_MS = 2_000;
const DEFAULT_TOLERANCE = 0.002;
const START_TIMEOUT_MS = 20_000;

export interface StepFailure {
  /** 1-based; 0 when the simulator itself did not start. */
  step: number;
  text: string;
  expected: string;
  seen: string;
}

export interface ScenarioResult {
  name: string;
  ok: boolean;
  /** Steps that passed. */
  passed: number;
  durationMs: number;
  failure?: StepFailure;
}

export interface RunOptions {
  /** Folder golden images are read from (the scenario file's). */
  baseDir: string;
  /** Folder screenshots are written to (default: the current directory). */
  outDir?: string;
  log?: Logger;
  /** Write a golden image that does not exist yet from the frame on screen, instead of failing. */
  updateGolden?: boolean;
  /** Told about each step as it passes. */
  onStep?: (step: Step, elapsedMs: number) => void;
  /** Called once the simulator is up, before the first step (the page server starts here). */
  onStart?: (sim: Simulation) => Promise<void>;
  /** Called after the last step, before the simulator stops. */
  onEnd?: (sim: Simulation) => Promise<void>;
}

/** One step that did not go as written: what it expected and what it saw instead. */
class StepFailed extends Error {
  constructor(
    readonly expected: string,
    readonly seen: string,
  ) {
    super(`expected ${expected}; saw ${seen}`);
  }
}

/** Reads, checks and runs a scenario file. Throws InputError for a file that cannot be read or is not a valid scenario. */
export async function runScenarioFile(path: string, options: Omit<RunOptions, 'baseDir'> & { baseDir?: string } = {}): Promise<ScenarioResult> {
  const { scenario, baseDir } = loadScenario(path);
  return runScenario(scenario, { ...options, baseDir: options.baseDir ?? baseDir });
}

/** Reads and checks a scenario file; golden images are found next to it. */
export function loadScenario(path: string): { scenario: Scenario; baseDir: string } {
  return { scenario: parseScenario(readScenarioText(path), path), baseDir: dirname(resolve(path)) };
}

function readScenarioText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`);
  }
}

/**
 * Runs a scenario against a fresh simulator in a temporary folder (embedded
 * broker on a free port, no serial pty), stopping at the first step that
 * fails. The folder is removed afterwards.
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'dakbox-scenario-'));
  const { settings } = scenario;
  let sim: Simulation | undefined;
  let passed = 0;
  try {
    sim = await Simulation.start({
      dir,
      port: 0,
      log: options.log ?? silentLogger(),
      billingPty: false,
      ...(settings.devices !== undefined ? { devices: settings.devices } : {}),
      ...(settings.language !== undefined ? { language: settings.language } : {}),
      ...(settings.size !== undefined ? { size: settings.size } : {}),
      ...(settings.expirySeconds !== undefined ? { expirySeconds: settings.expirySeconds } : {}),
      ...(settings.resultSeconds !== undefined ? { resultSeconds: settings.resultSeconds } : {}),
    });
    const run = new Run(sim, options);
    try {
      await run.allOnline();
    } catch (err) {
      return result(scenario, started, passed, { step: 0, text: 'start the simulator', ...failureOf(err) });
    }
    await options.onStart?.(sim);
    for (const step of scenario.steps) {
      try {
        await run.step(step);
      } catch (err) {
        run.close();
        return result(scenario, started, passed, { step: step.number, text: step.text, ...failureOf(err) });
      }
      passed++;
      options.onStep?.(step, Date.now() - started);
    }
    run.close();
    await options.onEnd?.(sim);
    return result(scenario, started, passed);
  } finally {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function result(scenario: Scenario, started: number, passed: number, failure?: StepFailure): ScenarioResult {
  return { name: scenario.name, ok: failure === undefined, passed, durationMs: Date.now() - started, ...(failure ? { failure } : {}) };
}

function failureOf(err: unknown): { expected: string; seen: string } {
  if (err instanceof StepFailed) return { expected: err.expected, seen: err.seen };
  return { expected: 'the step to be carried out', seen: describeError(err) };
}

/** One failure as the command prints it. */
export function formatFailure(failure: StepFailure): string {
  const what = failure.step === 0 ? 'the simulator did not start' : `step ${failure.step} (${failure.text}) failed`;
  return `${what}\n  expected: ${failure.expected}\n  seen:     ${failure.seen}`;
}

/** The state of one run: everything the devices said and sent, and how far each wait has read. */
class Run {
  private readonly speech: SpeechEvent[] = [];
  private readonly serial: BillingEvent[] = [];
  private readonly lights: SimulationEvents['leds'][0][] = [];
  private speechRead = 0;
  private serialRead = 0;
  private lightsRead = 0;
  private readonly listeners: [keyof SimulationEvents, (event: never) => void][] = [];

  constructor(
    private readonly sim: Simulation,
    private readonly options: RunOptions,
  ) {
    this.listen('speech', (event) => this.speech.push(event));
    this.listen('leds', (event) => this.lights.push(event));
    this.listen('billing', (event) => {
      if (event.direction === 'to-pc' && event.message) this.serial.push(event);
    });
  }

  close(): void {
    for (const [name, listener] of this.listeners) this.sim.off(name, listener as never);
  }

  private listen<K extends keyof SimulationEvents>(name: K, listener: (event: SimulationEvents[K][0]) => void): void {
    this.sim.on(name, listener as never);
    this.listeners.push([name, listener]);
  }

  async allOnline(): Promise<void> {
    for (const id of this.sim.deviceIds) {
      const counter = this.sim.counter(id);
      await this.until(['frame'], START_TIMEOUT_MS, `${id} online and idle`, () => {
        const frame = counter.frame?.frame;
        return { done: frame?.link === 'online' && frame.screen.kind === 'idle', seen: frame ? `${frame.screen.kind} screen, link ${frame.link}` : 'nothing drawn yet' };
      });
    }
  }

  async step(step: Step): Promise<void> {
    const sim = this.sim;
    switch (step.name) {
      case 'sale': {
        const { device, amount, ...rest } = step.args;
        await sim.counter(device).sale({ amount, ...definedOnly(rest) });
        return;
      }
      case 'pay':
        await sim.pay(step.args.device);
        return;
      case 'pay-amount':
        await sim.pay(step.args.device, { amount: step.args.amount });
        return;
      case 'pay-after-expiry':
        await sim.payAfterExpiry(step.args.device, step.args.amount !== undefined ? { amount: step.args.amount } : {});
        return;
      case 'fail':
        await sim.fail(step.args.device);
        return;
      case 'press':
        await sim.counter(step.args.device).press(step.args.button, PRESS_MS);
        return;
      case 'hold':
        await sim.counter(step.args.device).press(step.args.button, HOLD_MS);
        return;
      case 'wait-screen':
        return this.waitScreen(step.args);
      case 'wait-qr':
        return this.waitQr(step.args);
      case 'wait-speech':
        return this.waitSpeech(step.args);
      case 'wait-serial':
        return this.waitSerial(step.args);
      case 'wait-led':
        return this.waitLed(step.args);
      case 'fault':
        return this.fault(step.args);
      case 'delay':
        await new Promise((r) => setTimeout(r, step.args.ms));
        return;
      case 'screenshot': {
        const frame = sim.counter(step.args.device).frame;
        if (!frame) throw new StepFailed('a frame on the LCD to save', 'nothing drawn yet');
        const file = resolve(this.options.outDir ?? process.cwd(), step.args.file);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, frame.png);
        return;
      }
    }
  }

  private async fault(args: StepArgs<'fault'>): Promise<void> {
    const sim = this.sim;
    const counter = sim.counter(args.device);
    switch (args.kind) {
      case 'broker-stop':
        await sim.stopBroker(args.seconds ?? 0);
        return;
      case 'network-drop':
        counter.dropNetwork(args.seconds ?? 0);
        return;
      case 'cable-pull':
        counter.pullCable(args.seconds);
        return;
      case 'cable-plug':
        counter.plugCable();
        return;
      case 'forged':
        await sim.forgeConfirmation(counter.deviceId);
        return;
      case 'replay':
        await sim.replayConfirmation(counter.deviceId);
        return;
      case 'power-cut':
        await counter.powerCut();
        return;
      case 'clock-step':
        counter.stepClock(args.ms ?? 0);
        return;
    }
  }

  private async waitScreen(args: StepArgs<'wait-screen'>): Promise<void> {
    const counter = this.sim.counter(args.device);
    const tolerance = args.tolerance ?? DEFAULT_TOLERANCE;
    let golden: Buffer | undefined;
    if (args.golden !== undefined) {
      const path = resolve(this.options.baseDir, args.golden);
      if (existsSync(path)) golden = readFileSync(path);
      else if (!this.options.updateGolden) throw new StepFailed(`the golden image ${path}`, 'no such file (run with --update-golden to make it from the frame on screen)');
    }
    const wanted = [
      args.shows !== undefined ? `the ${args.shows} screen` : undefined,
      args.link !== undefined ? `link ${args.link}` : undefined,
      args.text !== undefined ? `the text ${JSON.stringify(args.text)} laid out on the LCD` : undefined,
      args.golden !== undefined ? `the pixels of ${args.golden} (at most ${(tolerance * 100).toFixed(2)}% differing)` : undefined,
    ].filter((w) => w !== undefined);
    await this.until(['frame'], args.timeout, `${wanted.join(', ')} on ${counter.deviceId}`, () => {
      const latest = counter.frame;
      if (!latest) return { done: false, seen: 'nothing drawn yet' };
      const { frame } = latest;
      const lines = laidOutText(frame, latest.size);
      const seen = [`${frame.screen.kind} screen, link ${frame.link}`, `text ${JSON.stringify(lines.join(' | '))}`];
      let done = (args.shows === undefined || frame.screen.kind === args.shows) && (args.link === undefined || frame.link === args.link);
      if (done && args.text !== undefined) done = lines.join('\n').toLowerCase().includes(args.text.toLowerCase());
      if (done && args.golden !== undefined) {
        if (!golden) {
          const path = resolve(this.options.baseDir, args.golden);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, latest.png);
          golden = latest.png;
        }
        const comparison = compareGolden(latest.png, golden);
        seen.push(comparison.sameSize ? `${comparison.differing} of ${comparison.total} pixels differing (${((comparison.differing / comparison.total) * 100).toFixed(2)}%)` : 'a frame of another size than the golden image');
        done = comparison.sameSize && comparison.differing <= tolerance * comparison.total;
      }
      return { done, seen: seen.join('; ') };
    });
  }

  private async waitQr(args: StepArgs<'wait-qr'>): Promise<void> {
    const counter = this.sim.counter(args.device);
    const amount = args.amount === undefined ? undefined : formatWireAmount(parseAmountInput(args.amount));
    const wanted = [
      'a QR readable from the LCD pixels',
      amount !== undefined ? `asking ${amount}` : undefined,
      args.note !== undefined ? `with note ${JSON.stringify(args.note)}` : undefined,
      args.signed ? 'signed (mode 16) with a signature that checks' : undefined,
    ].filter((w) => w !== undefined);
    let decodedFrame = -1;
    let seen = 'nothing drawn yet';
    let done = false;
    await this.until(['frame'], args.timeout, `${wanted.join(', ')} on ${counter.deviceId}`, () => {
      const latest = counter.frame;
      if (!latest || latest.number === decodedFrame) return { done, seen };
      decodedFrame = latest.number;
      const uri = decodeQr(latest.png);
      if (uri === undefined) {
        seen = `no QR readable (${latest.frame.screen.kind} screen)`;
        done = false;
        return { done, seen };
      }
      const fields = { am: uriField(uri, 'am'), tn: uriField(uri, 'tn'), mode: uriField(uri, 'mode') };
      const signed = fields.mode === '16' && qrSignatureChecks(uri, this.sim.qrPublicKey.pem);
      seen = `a QR asking ${fields.am ?? '(no amount)'}${fields.tn !== undefined ? ` with note ${JSON.stringify(fields.tn)}` : ''}, mode ${fields.mode ?? '?'}${fields.mode === '16' ? (signed ? ', signature checks' : ', signature does NOT check') : ''}`;
      done = (amount === undefined || fields.am === amount) && (args.note === undefined || fields.tn === args.note) && (!args.signed || signed);
      return { done, seen };
    });
  }

  /** An LED as the firmware drove it: now, or at any change since the last wait-led matched (a beep or a flash is brief). */
  private async waitLed(args: StepArgs<'wait-led'>): Promise<void> {
    const { led, on } = args;
    const counter = this.sim.counter(args.device);
    await this.until(['leds'], args.timeout, `the ${led} LED ${on ? 'lit' : 'dark'} on ${counter.deviceId}`, () => {
      const at = this.lights.findIndex((event, i) => i >= this.lightsRead && event.deviceId === counter.deviceId && event.leds[led] === on);
      if (at >= 0) this.lightsRead = at + 1;
      else if (counter.leds[led] === on) this.lightsRead = this.lights.length;
      return {
        done: at >= 0 || counter.leds[led] === on,
        seen: `LEDs now ${Object.entries(counter.leds)
          .map(([name, lit]) => `${name} ${lit ? 'on' : 'off'}`)
          .join(', ')}, and ${led} not ${on ? 'lit' : 'dark'} since the last LED step`,
      };
    });
  }

  private async waitSpeech(args: StepArgs<'wait-speech'>): Promise<void> {
    const device = args.device === undefined ? undefined : this.sim.counter(args.device).deviceId;
    const pattern = args.match === undefined ? undefined : compilePattern(args.match);
    const matches = (s: SpeechEvent): boolean => {
      if (s.chime || (device !== undefined && s.deviceId !== device)) return false;
      if (args.language !== undefined && s.language !== args.language) return false;
      const text = s.text.toLowerCase();
      if (args.text !== undefined && !text.includes(args.text.toLowerCase())) return false;
      if (args.words !== undefined && !args.words.every((w) => text.includes(w.toLowerCase()))) return false;
      return pattern === undefined || pattern.test(s.text);
    };
    const wanted = [
      args.text !== undefined ? `containing ${JSON.stringify(args.text)}` : undefined,
      args.words !== undefined ? `with the words ${args.words.map((w) => JSON.stringify(w)).join(', ')}` : undefined,
      args.match !== undefined ? `matching /${args.match}/` : undefined,
      args.language !== undefined ? `in ${args.language}` : undefined,
    ]
      .filter((w) => w !== undefined)
      .join(' ');
    await this.until(['speech'], args.timeout, `a sentence ${wanted}`, () => {
      const at = this.speech.findIndex((s, i) => i >= this.speechRead && matches(s));
      if (at >= 0) this.speechRead = at + 1;
      return { done: at >= 0, seen: describeSpeech(this.speech.slice(this.speechRead)) };
    });
    if (!args.once) return;
    const settle = args.settleMs ?? DEFAULT_SETTLE_MS;
    await new Promise((r) => setTimeout(r, settle));
    const again = this.speech.slice(this.speechRead).filter(matches);
    if (again.length > 0) throw new StepFailed(`the sentence ${wanted} said once, nothing like it in the next ${settle} ms`, `said again: ${describeSpeech(again)}`);
  }

  private async waitSerial(args: StepArgs<'wait-serial'>): Promise<void> {
    const { event, timeout, device, ...fields } = args;
    const id = device === undefined ? undefined : this.sim.counter(device).deviceId;
    const matches = (line: BillingEvent): boolean => {
      const message = line.message;
      if (!message || message.event !== event || (id !== undefined && line.deviceId !== id)) return false;
      return Object.entries(fields).every(([key, value]) => message[key] === value || (typeof value === 'number' && String(message[key]) === String(value)));
    };
    const wanted = `${/^[aeiou]/.test(event) ? 'an' : 'a'} ${event} event${Object.keys(fields).length ? ` with ${Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}` : ''} on the billing PC's line`;
    await this.until(['billing'], timeout, wanted, () => {
      const at = this.serial.findIndex((line, i) => i >= this.serialRead && matches(line));
      if (at >= 0) this.serialRead = at + 1;
      const recent = this.serial.slice(Math.max(this.serialRead, this.serial.length - 4)).map((line) => line.line.slice(0, 160));
      return { done: at >= 0, seen: recent.length ? recent.join(' ; ') : 'no event since the last one matched' };
    });
  }

  /**
   * Waits until `check` says done, checking now, at each of `events` and
   * every 250 ms; fails after the timeout with what the last check saw.
   */
  private until(events: (keyof SimulationEvents)[], timeoutMs: number | undefined, expected: string, check: () => { done: boolean; seen: string }): Promise<void> {
    const limit = timeoutMs ?? DEFAULT_WAIT_MS;
    return new Promise((resolvePromise, reject) => {
      let last = 'nothing yet';
      let finished = false;
      const finish = (err?: Error): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        clearInterval(poll);
        for (const name of events) this.sim.off(name, test);
        if (err) reject(err);
        else resolvePromise();
      };
      const test = (): void => {
        if (finished) return;
        try {
          const outcome = check();
          last = outcome.seen;
          if (outcome.done) finish();
        } catch (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const timer = setTimeout(() => finish(new StepFailed(`${expected} within ${limit} ms`, last)), limit);
      const poll = setInterval(test, 250);
      for (const name of events) this.sim.on(name, test);
      test();
    });
  }
}

function describeSpeech(list: readonly SpeechEvent[]): string {
  const spoken = list.filter((s) => !s.chime);
  if (spoken.length === 0) return 'nothing said since the last sentence a step matched';
  return spoken
    .slice(-4)
    .map((s) => `${JSON.stringify(s.text)} (${s.language})`)
    .join('; ');
}

function compilePattern(source: string): RegExp {
  try {
    return new RegExp(source, 'iu');
  } catch (err) {
    throw new StepFailed(`a valid regular expression in match`, describeError(err));
  }
}

function definedOnly<T extends Record<string, unknown>>(fields: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
