/**
 * The storage under the ledger fails during a payment, on the real device
 * (in-process: the real Counter, Ledger, Outbox, MqttLink and Announcer)
 * against a real mosquitto running the shipped persistence settings. The
 * confirmation must not be acknowledged, so the broker keeps delivering it;
 * sales pause behind the fault screen; once the storage works again the
 * payment is announced exactly once and receipted.
 *
 * The disk really fills where this machine lets the test mount a small
 * tmpfs (as root). Where mount is refused, and always as well, the same
 * runs with SQLite's own limit on the ledger's size (max_page_count). Linux
 * refuses to remount a filesystem read-only while a file on it is open for
 * writing, and the ledger always is; the read-only case therefore tries the
 * remount and, when it is refused, makes the ledger's connection read-only
 * with SQLite's query_only.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIst, systemClock } from '../../core/clock.js';
import { loadConfig } from '../../core/config.js';
import { StorageFault } from '../../core/errors.js';
import type { Ledger } from '../../core/payment/ledger.js';
import { signConfirmation } from '../../core/payment/confirmation.js';
import { paise } from '../../core/money.js';
import type { Speaker, Utterance } from '../../core/ports/speaker.js';
import { Device } from '../../device/device.js';
import { deviceFixture, type DeviceFixture } from '../support/fixtures.js';
import { eventually } from '../support/ledger-reader.js';
import { recordingLogger } from '../support/log-lines.js';
import { Mosquitto } from '../support/mosquitto.js';
import { MqttWatch } from '../support/mqtt-watch.js';
import { RecordingDisplay } from '../support/stand-ins.js';

const FAULT_PROMPT = 'Payments cannot be recorded. New sales are paused';

function run(command: string, args: string[]): { ok: boolean; why: string } {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  const why = (r.stderr || r.error?.message || `exit ${String(r.status)}`).trim().split('\n')[0] ?? '';
  return { ok: r.status === 0, why: args.reduce((text, arg) => (arg.startsWith('/') ? text.replaceAll(arg, 'DIR') : text), why) };
}

/** Mounts a 16 MiB tmpfs on a fresh folder, or says why it cannot. */
function mountTmpfs(): { dir: string } | { refused: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dakbox-tmpfs-'));
  const mounted = run('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir]);
  if (mounted.ok) return { dir };
  rmSync(dir, { recursive: true, force: true });
  return { refused: mounted.why };
}

function unmount(dir: string): void {
  if (!run('umount', [dir]).ok) run('umount', ['-l', dir]);
  rmSync(dir, { recursive: true, force: true });
}

/** Whether this machine remounts a filesystem read-only while a file on it is open for writing, as the ledger always is. */
function probeReadOnlyRemount(): { allowed: boolean; why: string } {
  const m = mountTmpfs();
  if ('refused' in m) return { allowed: false, why: `mount refused: ${m.refused}` };
  const fd = openSync(join(m.dir, 'open-for-writing'), 'w');
  try {
    const r = run('mount', ['-o', 'remount,ro', m.dir]);
    return { allowed: r.ok, why: r.why };
  } finally {
    closeSync(fd);
    unmount(m.dir);
  }
}

const tmpfs = (() => {
  const m = mountTmpfs();
  if ('dir' in m) {
    unmount(m.dir);
    return { allowed: true, why: '' };
  }
  return { allowed: false, why: m.refused };
})();
const readOnly = tmpfs.allowed ? probeReadOnlyRemount() : { allowed: false, why: `mount refused: ${tmpfs.why}` };

/** Fills the filesystem holding `dir` with a file, to the last byte it takes. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  try {
    for (let size = 1 << 20; size >= 1; size >>= 1) {
      const chunk = Buffer.alloc(size, 0x5a);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

/**
 * The device's own SQLite connection: max_page_count and query_only are
 * settings of one connection, so they must be made on the one the device
 * writes through.
 */
function connectionOf(ledger: Ledger): Database.Database {
  return Reflect.get(ledger, 'db') as Database.Database;
}

/**
 * Holds the ledger at its present number of pages, then fills the payment
 * table's last page with rows a little smaller than a real payment's, so
 * that the next payment needs a page the ledger may not have.
 */
function capLedger(db: Database.Database, tr: string): void {
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  const insert = db.prepare(
    `INSERT INTO payments (utr, tr, status, amount_paise, paid_at, received_at, late, mismatch, announced) VALUES (?, ?, 'SUCCESS', 1, '2026-01-15T10:01:07+05:30', ?, 0, 0, 1)`,
  );
  for (let i = 0; ; i++) {
    try {
      insert.run(`F${String(i).padStart(8, '0')}`, tr, Date.now());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_FULL') return;
      throw err;
    }
  }
}

/** A speaker that keeps what it was asked to say. */
class SpeakerLog implements Speaker {
  readonly said: string[] = [];
  speak(utterance: Utterance): Promise<void> {
    this.said.push(utterance.text);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The lines of the shipped broker config that decide what a broker crash loses and how fast messages go. */
const SHIPPED_BROKER_SETTINGS = readFileSync(new URL('../../deploy/mosquitto/dakbox.conf', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => /^(autosave_on_changes|autosave_interval|set_tcp_nodelay) /.test(line));

let broker: Mosquitto;
let backend: MqttWatch;

beforeAll(async () => {
  expect(SHIPPED_BROKER_SETTINGS).toHaveLength(3);
  broker = await Mosquitto.start({ extra: SHIPPED_BROKER_SETTINGS });
  backend = await MqttWatch.connect(broker.url, ['dakbox/v1/+/#'], { clientId: 'storage-backend', protocolVersion: 5 });
});

afterAll(async () => {
  await backend?.close();
  await broker?.stop();
});

interface Breakage {
  /** Where the ledger lives, if not in the device's own folder. */
  ledgerDir?: string;
  /** The SQLite error the device must have met. */
  code: RegExp;
  /** Makes the ledger unwritable; `tr` is the sale on screen. */
  breakStorage(device: Device, tr: string): void;
  mendStorage(device: Device): void;
}

/**
 * One payment through a storage fault, on a device of its own (its own id,
 * so its session is its own).
 */
async function paymentThroughFault(deviceId: string, breakage: Breakage): Promise<void> {
  const fixture: DeviceFixture = deviceFixture({
    deviceId,
    mqtt: { url: broker.url, protocolVersion: 5 },
    announce: { prompts: true },
    display: { kind: 'none' },
    ...(breakage.ledgerDir ? { ledger: join(breakage.ledgerDir, 'ledger.sqlite') } : {}),
  });
  const topic = (suffix: string) => `dakbox/v1/${deviceId}/${suffix}`;
  const { log, count, lines } = recordingLogger();
  const display = new RecordingDisplay();
  const speaker = new SpeakerLog();
  const device = new Device({ config: loadConfig(fixture.configPath), parts: { display, speaker }, log, clock: systemClock });
  const handle = device.counter.handlePayment.bind(device.counter);
  let deliveries = 0;
  device.counter.handlePayment = (payload) => {
    deliveries++;
    handle(payload);
  };
  try {
    device.start();
    await eventually(() => device.link.state === 'online', 15_000, 'online');

    await backend.publish(topic('collect'), JSON.stringify({ v: 1, id: `${deviceId}-c1`, amount: '250.00' }));
    const qr = await backend.waitFor((m) => m.topic === topic('qr'), 15_000, 'qr');
    const { tr } = qr.json<{ tr: string }>();

    breakage.breakStorage(device, tr);
    const confirmation = signConfirmation({ deviceId, tr, utr: `${deviceId}U1`, amount: '250.00', status: 'SUCCESS', paidAt: formatIst(systemClock.now()) }, fixture.keys.privateKey);
    await backend.publish(topic('payment'), JSON.stringify(confirmation));

    // Not acknowledged: the broker keeps delivering it, on each new connection.
    await eventually(() => deliveries >= 2, 20_000, 'the confirmation delivered again');
    expect(display.last?.screen).toEqual({ kind: 'fault', fault: 'storage', deviceId });
    expect(device.ledger.findPayment(`${deviceId}U1`)).toBeUndefined();
    await expect(device.counter.startSale({ amount: paise(100), source: 'serial' })).rejects.toThrow(StorageFault);
    const receipts = () => backend.seen.filter((m) => m.topic === topic('receipt'));
    expect(receipts()).toEqual([]);
    expect(count('the ledger cannot be written; sales are paused until it can')).toBe(1);
    expect(lines.find((l) => l.msg === 'the ledger cannot be written; sales are paused until it can')?.err).toMatchObject({ code: expect.stringMatching(breakage.code) as unknown });
    expect(speaker.said.filter((s) => s === FAULT_PROMPT)).toHaveLength(1);

    breakage.mendStorage(device);
    const receipt = await backend.waitFor((m) => m.topic === topic('receipt'), 40_000, 'receipt once the storage works');
    expect(receipt.json()).toMatchObject({ tr, utr: `${deviceId}U1`, outcome: 'announced' });
    await eventually(() => display.last?.screen.kind === 'paid', 5_000, 'the Paid screen');
    expect(device.ledger.findPayment(`${deviceId}U1`)).toMatchObject({ announced: true, late: false });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(speaker.said.filter((s) => s.startsWith('Received'))).toEqual(['Received two hundred fifty rupees']);
    expect(receipts().map((m) => m.json<{ outcome: string }>().outcome)).toEqual(['announced']);
    expect(count('the ledger cannot be written; sales are paused until it can')).toBe(1);
    await expect(device.counter.startSale({ amount: paise(100), source: 'serial' })).resolves.toMatchObject({ state: 'showing' });
  } finally {
    await device.stop();
    fixture.cleanup();
  }
}

describe('a disk that fills during a payment', () => {
  it.skipIf(!tmpfs.allowed)(`tmpfs of 16 MiB filled by a file${tmpfs.allowed ? '' : ` (skipped: mount refused here: ${tmpfs.why}; the max_page_count case below runs instead)`}`, async () => {
    const dir = mountTmpfs();
    if ('refused' in dir) throw new Error(dir.refused);
    let filler = '';
    try {
      await paymentThroughFault('FULL01', {
        ledgerDir: dir.dir,
        code: /^SQLITE_FULL$/,
        breakStorage: () => {
          filler = fillDisk(dir.dir);
        },
        mendStorage: () => rmSync(filler),
      });
    } finally {
      unmount(dir.dir);
    }
  }, 90_000);

  it('ledger held at its size by SQLite (max_page_count), for machines that refuse mount', async () => {
    await paymentThroughFault('PAGES01', {
      code: /^SQLITE_FULL$/,
      breakStorage: (device, tr) => capLedger(connectionOf(device.ledger), tr),
      mendStorage: (device) => void connectionOf(device.ledger).pragma('max_page_count = 1073741823'),
    });
  }, 90_000);
});

describe('a disk that turns read-only during a payment', () => {
  const name = readOnly.allowed
    ? 'tmpfs remounted read-only'
    : `ledger connection made read-only with query_only (the kernel refused a read-only remount with the ledger open: ${readOnly.why})`;
  it(name, async () => {
    if (readOnly.allowed) {
      const dir = mountTmpfs();
      if ('refused' in dir) throw new Error(dir.refused);
      try {
        await paymentThroughFault('RO01', {
          ledgerDir: dir.dir,
          code: /^SQLITE_(READONLY|IOERR)/,
          breakStorage: () => {
            const r = run('mount', ['-o', 'remount,ro', dir.dir]);
            if (!r.ok) throw new Error(`read-only remount refused: ${r.why}`);
          },
          mendStorage: () => {
            const r = run('mount', ['-o', 'remount,rw', dir.dir]);
            if (!r.ok) throw new Error(`read-write remount refused: ${r.why}`);
          },
        });
      } finally {
        unmount(dir.dir);
      }
      return;
    }
    let remountTried = false;
    const dir = tmpfs.allowed ? mountTmpfs() : undefined;
    try {
      await paymentThroughFault('RO01', {
        ...(dir && 'dir' in dir ? { ledgerDir: dir.dir } : {}),
        code: /^SQLITE_READONLY$/,
        breakStorage: (device) => {
          if (dir && 'dir' in dir) {
            const r = run('mount', ['-o', 'remount,ro', dir.dir]);
            remountTried = true;
            expect(r.ok).toBe(false);
          }
          connectionOf(device.ledger).pragma('query_only = ON');
        },
        mendStorage: (device) => void connectionOf(device.ledger).pragma('query_only = OFF'),
      });
      expect(remountTried).toBe(tmpfs.allowed);
    } finally {
      if (dir && 'dir' in dir) unmount(dir.dir);
    }
  }, 90_000);
});
