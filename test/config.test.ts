import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, lstatSync, readFileSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyRemoteSettings, loadConfig, parseSettings, remoteView, saveSecrets, saveSettings } from '../core/config.js';
import { deviceFixture, type DeviceFixture } from './support/fixtures.js';
import { refusal } from './support/refusal.js';

let fixture: DeviceFixture | undefined;
afterEach(() => fixture?.cleanup());

describe('device config', () => {
  it('loads a minimal file and fills the defaults', () => {
    fixture = deviceFixture();
    const config = loadConfig(fixture.configPath);
    expect(config.settings.payee.mcc).toBe('9402');
    expect(config.settings.sale.expirySeconds).toBe(300);
    expect(config.saleLimit).toBe(10_000_000);
    expect(config.notifierKeys).toHaveLength(1);
    expect(config.ledgerPath).toBe(join(fixture.dir, 'ledger.sqlite'));
    expect(config.qrSigningKey).toBeUndefined();
    expect(config.settings.retention).toEqual({ rejectionDays: 90, maxRejections: 10_000, sentDays: 7, maxSent: 10_000 });
  });

  it.each<[Record<string, unknown>, string]>([
    [{ deviceId: 'MYS 01' }, 'device.json: deviceId: must be 1–20 letters, digits, - or _ (it starts every transaction reference)'],
    [{ payee: { vpa: 'mysuru', name: 'Mysuru HO' } }, 'device.json: payee.vpa: must be a UPI address like "counter01@postbank"'],
    [{ language: 'ta' }, 'device.json: language: must be one of en, hi, bn, kn'],
    [{ volume: 11 }, 'device.json: volume: must be at most 10'],
    [{ notifierKeys: [] }, 'device.json: notifierKeys: needs at least one notifier public key'],
    [{ notifierKeys: ['a', 'b', 'c'] }, 'device.json: notifierKeys: allows at most two keys (current and next)'],
    [{ langauge: 'hi' }, 'device.json: langauge: is not a known setting'],
    [{ mqtt: { url: 'http://broker' } }, 'device.json: mqtt.url: must be a broker URL like mqtt://host:1883 or mqtts://host:8883'],
    [{ sale: { limit: '100000' } }, 'device.json: sale.limit: must be an amount with two decimals, more than zero, like "100000.00"'],
    [{ sale: { limit: '1234567890.00' } }, 'device.json: sale.limit: "1234567890.00" is too large'],
    [{ payee: { vpa: 'mysuru@postbank', name: '   ' } }, 'device.json: payee.name: is blank'],
    [{ payee: { vpa: 'mysuru@postbank', name: 'Mysuru\nHO' } }, 'device.json: payee.name: contains a control or invisible character (U+000A)'],
    [{ payee: { vpa: 'mysuru@postbank', name: 'Mysuru \u202eOH' } }, 'device.json: payee.name: contains a control or invisible character (U+202E)'],
    [{ sale: { note: 'Speed\u0085post' } }, 'device.json: sale.note: contains a control or invisible character (U+0085)'],
    [{ controls: { kind: 'raspberry-pi', plugin: 'wiringpi' } }, 'device.json: controls.plugin: must be one of raspi-io, pi-io'],
    [{ retention: { rejectionDays: 0 } }, 'device.json: retention.rejectionDays: must be at least 1'],
    [{ retention: { maxSent: 10 } }, 'device.json: retention.maxSent: must be at least 100'],
    [{ retention: { sentDays: 1.5 } }, 'device.json: retention.sentDays: must be an int'],
    [{ retention: { keepForever: true } }, 'device.json: retention.keepForever: is not a known setting'],
  ])('names the field in %j', (change, message) => {
    fixture = deviceFixture(change);
    expect(refusal(() => loadConfig(fixture!.configPath)).message).toBe(message);
  });

  it('lets the field engineer choose the pi-io plugin for the buttons and LEDs', () => {
    fixture = deviceFixture({ controls: { kind: 'raspberry-pi', plugin: 'pi-io' } });
    expect(loadConfig(fixture.configPath).settings.controls).toEqual({ kind: 'raspberry-pi', plugin: 'pi-io' });
  });

  it('reports a missing field as missing', () => {
    expect(refusal(() => parseSettings({ payee: { vpa: 'a@b', name: 'x' }, mqtt: { url: 'mqtt://x' }, notifierKeys: ['k'] })).message).toBe(
      'device.json: deviceId: is missing',
    );
  });

  it('reports broken JSON and a missing file in one line', () => {
    fixture = deviceFixture();
    writeFileSync(fixture.configPath, '{ "deviceId": ');
    expect(refusal(() => loadConfig(fixture!.configPath)).message).toMatch(/^config: is not valid JSON \(/);
    expect(refusal(() => loadConfig(join(fixture!.dir, 'nope.json'))).message).toMatch(/^config: .*nope\.json does not exist$/);
  });

  it('refuses a notifier key that is not Ed25519', () => {
    const rsa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    fixture = deviceFixture({ notifierKeys: [rsa] });
    expect(refusal(() => loadConfig(fixture!.configPath)).message).toBe('notifierKeys.0: is a ec key, not Ed25519');
    fixture.cleanup();
    fixture = deviceFixture({ notifierKeys: ['bm90IGEga2V5'] });
    expect(refusal(() => loadConfig(fixture!.configPath)).message).toBe('notifierKeys.0: is not an Ed25519 public key (base64 of 32 bytes, or PEM)');
  });

  it('accepts PEM notifier keys too', () => {
    const pem = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    fixture = deviceFixture({ notifierKeys: [pem] });
    expect(loadConfig(fixture.configPath).notifierKeys[0]?.asymmetricKeyType).toBe('ed25519');
  });
});

describe('secrets', () => {
  const qrKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

  it('are written atomically with mode 0600 and loaded', () => {
    fixture = deviceFixture({ payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO', orgId: '159012' } });
    saveSecrets(fixture.dir, { mqttPassword: 's3cret', qrSigningKey: qrKey });
    expect(statSync(join(fixture.dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(fixture.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const config = loadConfig(fixture.configPath);
    expect(config.mqttPassword).toBe('s3cret');
    expect(config.qrSigningKey?.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('are refused when others can read them', () => {
    fixture = deviceFixture();
    saveSecrets(fixture.dir, { mqttPassword: 's3cret' });
    chmodSync(join(fixture.dir, 'secrets.json'), 0o644);
    expect(refusal(() => loadConfig(fixture!.configPath)).message).toMatch(/^secrets.json: is readable by other users \(mode 0644\); run chmod 600 /);
  });

  it('need an org id when QRs are signed', () => {
    fixture = deviceFixture();
    saveSecrets(fixture.dir, { qrSigningKey: qrKey });
    expect(refusal(() => loadConfig(fixture!.configPath)).field).toBe('payee.orgId');
  });

  it('refuse a signing key on the wrong curve', () => {
    fixture = deviceFixture({ payee: { vpa: 'mysuruho@postbank', name: 'Mysuru HO', orgId: '159012' } });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    saveSecrets(fixture.dir, { qrSigningKey: p384 });
    expect(refusal(() => loadConfig(fixture!.configPath)).message).toBe('secrets.json qrSigningKey: must be an ECDSA P-256 (prime256v1) key');
  });
});

describe('remote settings', () => {
  it('are written through a symlinked device.json to the file it points at, keeping the link', () => {
    fixture = deviceFixture();
    const target = join(fixture.dir, 'provisioned.json');
    renameSync(fixture.configPath, target);
    symlinkSync(target, fixture.configPath);
    const config = loadConfig(fixture.configPath);
    saveSettings(fixture.configPath, applyRemoteSettings(config.settings, { volume: 2 }).settings);
    expect(lstatSync(fixture.configPath).isSymbolicLink()).toBe(true);
    expect(loadConfig(target).settings.volume).toBe(2);
    expect(loadConfig(fixture.configPath).settings.volume).toBe(2);
  });

  it('change only what the backend may change, and persist atomically', () => {
    fixture = deviceFixture();
    const config = loadConfig(fixture.configPath);
    const { settings, changed } = applyRemoteSettings(config.settings, { language: 'kn', volume: 3, saleLimit: '5000.00' });
    expect(changed.sort()).toEqual(['language', 'saleLimit', 'volume']);
    saveSettings(fixture.configPath, settings);
    expect(statSync(fixture.configPath).mode & 0o777).toBe(0o600);
    const reloaded = loadConfig(fixture.configPath);
    expect(remoteView(reloaded.settings)).toMatchObject({ language: 'kn', volume: 3, saleLimit: '5000.00' });
    expect((JSON.parse(readFileSync(fixture.configPath, 'utf8')) as { payee: { vpa: string } }).payee.vpa).toBe('mysuruho@postbank');
  });

  it.each<[unknown, string]>([
    [{ payee: { vpa: 'thief@bank' } }, 'config/set: payee: is not a known setting'],
    [{ notifierKeys: ['x'] }, 'config/set: notifierKeys: is not a known setting'],
    [{ volume: 'loud' }, 'config/set: volume: must be a number'],
    [{ language: 'fr' }, 'config/set: language: must be one of en, hi, bn, kn'],
  ])('refuse %j', (change, message) => {
    fixture = deviceFixture();
    const config = loadConfig(fixture.configPath);
    expect(refusal(() => applyRemoteSettings(config.settings, change)).message).toBe(message);
  });
});
