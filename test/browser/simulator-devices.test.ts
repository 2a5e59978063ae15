/**
 * `dakbox simulate --devices 2 --broker mqtt://...`: two counters on one
 * outside broker (a real mosquitto), side by side on the page; the billing
 * PC and the phone act on the one chosen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Mosquitto } from '../support/mosquitto.js';
import { launchBrowser, screenshot, SimulatorProcess } from './harness.js';

let broker: Mosquitto;
let sim: SimulatorProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  broker = await Mosquitto.start();
  sim = new SimulatorProcess(['--devices', '2', '--size', '320x240', '--broker', broker.url]);
  const url = await sim.pageUrl();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  await page.goto(url);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sim?.stop();
  await broker?.stop();
});

function screenOf(device: string): Promise<string | null> {
  return page.locator(`.device[data-device="${device}"] .lcd`).getAttribute('data-screen');
}

describe('two counters on one outside broker', () => {
  it('shows both, and rings up a sale on the one chosen', async () => {
    await expect.poll(() => page.locator('.device .lcd').count()).toBe(2);
    await expect.poll(() => screenOf('SIM02'), { timeout: 20_000 }).toBe('idle');
    // SIM01 gets a QR that expires soon, for the late payment below.
    await page.getByLabel('Amount (₹)', { exact: true }).fill('30.00');
    await page.getByLabel('Expires in (s)').fill('30');
    await page.getByRole('button', { name: 'Ring up sale' }).click();
    await expect.poll(() => screenOf('SIM01'), { timeout: 15_000 }).toBe('collect');
    await page.getByLabel('Expires in (s)').fill('');
    expect(await page.locator('.device[data-device="SIM01"] .lcd').getAttribute('width')).toBe('320');
    await page.locator('#device-select').selectOption('SIM02');
    await page.getByLabel('Amount (₹)', { exact: true }).fill('99.00');
    await page.getByRole('button', { name: 'Ring up sale' }).click();
    await expect.poll(() => screenOf('SIM02'), { timeout: 15_000 }).toBe('collect');
    expect(await screenOf('SIM01')).toBe('collect');
    // The phone reads the chosen counter's LCD: SIM02's payee address.
    await expect.poll(() => page.locator('#phone-vpa').textContent(), { timeout: 15_000 }).toBe('simcounter02@postbank');
    await page.getByRole('button', { name: 'Pay', exact: true }).click();
    await expect.poll(() => screenOf('SIM02'), { timeout: 15_000 }).toBe('paid');
    // SIM01 still shows its own QR, unpaid.
    expect(await screenOf('SIM01')).toBe('collect');
    await screenshot(page, 'simulator-two-devices');
  }, 60_000);

  it('pays a QR after it expired: the device takes it as a late payment', async () => {
    await page.locator('#device-select').selectOption('SIM01');
    await expect.poll(() => page.locator('#phone-vpa').textContent(), { timeout: 15_000 }).toBe('simcounter01@postbank');
    await expect.poll(() => screenOf('SIM01'), { timeout: 40_000 }).toBe('expired');
    await expect.poll(() => page.locator('#phone-expiry').textContent(), { timeout: 5_000 }).toBe('expired');
    await page.getByRole('button', { name: 'Pay after expiry' }).click();
    await expect.poll(() => page.locator('#billing-lines').textContent(), { timeout: 15_000 }).toMatch(/"event":"paid".*"late":true/);
    await expect.poll(() => page.locator('#payment-rows').textContent(), { timeout: 5_000 }).toContain('late');
  }, 60_000);

  it('says the broker is not its own to stop', async () => {
    await page.getByRole('button', { name: 'Stop broker' }).click();
    await expect.poll(() => page.locator('#fault-result').textContent()).toContain(`the devices use an outside broker (${broker.url})`);
    expect(await page.locator('#fault-result').getAttribute('data-state')).toBe('bad');
  });
});
