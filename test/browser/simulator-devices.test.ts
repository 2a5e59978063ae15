/**
 * `dakbox simulate --devices 2`: two counters on one broker, side by side
 * on the page; the billing PC and the phone act on the one chosen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot, SimulatorProcess } from './harness.js';

let sim: SimulatorProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  sim = new SimulatorProcess(['--devices', '2', '--size', '320x240']);
  const url = await sim.pageUrl();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  await page.goto(url);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sim?.stop();
});

function screenOf(device: string): Promise<string | null> {
  return page.locator(`.device[data-device="${device}"] .lcd`).getAttribute('data-screen');
}

describe('two counters on one broker', () => {
  it('shows both, and rings up a sale on the one chosen', async () => {
    await expect.poll(() => page.locator('.device .lcd').count()).toBe(2);
    await expect.poll(() => screenOf('SIM02'), { timeout: 20_000 }).toBe('idle');
    expect(await page.locator('.device[data-device="SIM01"] .lcd').getAttribute('width')).toBe('320');
    await page.locator('#device-select').selectOption('SIM02');
    await page.getByLabel('Amount (₹)', { exact: true }).fill('99.00');
    await page.getByRole('button', { name: 'Ring up sale' }).click();
    await expect.poll(() => screenOf('SIM02'), { timeout: 15_000 }).toBe('collect');
    expect(await screenOf('SIM01')).toBe('idle');
    // The phone reads the chosen counter's LCD: SIM02's payee address.
    await expect.poll(() => page.locator('#phone-vpa').textContent(), { timeout: 15_000 }).toBe('simcounter02@postbank');
    await page.getByRole('button', { name: 'Pay', exact: true }).click();
    await expect.poll(() => screenOf('SIM02'), { timeout: 15_000 }).toBe('paid');
    expect(await screenOf('SIM01')).toBe('idle');
    await screenshot(page, 'simulator-two-devices');
  }, 60_000);
});
