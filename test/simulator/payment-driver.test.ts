/**
 * The payment driver's hold, which the memory soak reads the device under:
 * a real device process on a real mosquitto, four sales asked for at once,
 * held after the fifth; no sale past the fifth may start until it resumes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PaymentsBackend } from '../../simulator/backend.js';
import { faultRunFixture, type DeviceFixture } from '../support/fixtures.js';
import { Mosquitto } from '../support/mosquitto.js';
import { PaymentDriver } from '../support/payment-driver.js';
import { PoweredDevice } from '../support/powered-device.js';

let broker: Mosquitto;
let fixture: DeviceFixture;
let backend: PaymentsBackend;
let device: PoweredDevice;

beforeAll(async () => {
  broker = await Mosquitto.start({ extra: ['set_tcp_nodelay true'] });
  fixture = faultRunFixture(broker.url);
  backend = new PaymentsBackend({ url: broker.url, keys: fixture.keys, clientId: 'driver-hold-backend' });
  await backend.start();
  device = new PoweredDevice(fixture.configPath);
  await device.waitForLog('subscribed');
});

afterAll(async () => {
  await device?.powerCut();
  await backend?.stop();
  await broker?.stop();
  fixture?.cleanup();
});

it('starts no sale past the one it holds after, and goes on when resumed', async () => {
  const driver = new PaymentDriver({ backend, deviceId: 'MYS01', label: 'H', payments: 12, inFlight: 4 });
  driver.holdAfter(5);
  const run = driver.run();
  await driver.reached(5);
  // Long enough for a sixth sale's collect, QR and payment, had one started.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(driver.completed).toBe(5);
  expect([...driver.paid.values()].map((p) => p.index).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  driver.resume();
  await run;
  expect(driver.completed).toBe(12);
  expect(driver.paid.size).toBe(12);
  expect([...driver.outcomes.values()].every((outcomes) => outcomes[0] === 'announced')).toBe(true);
}, 60_000);
