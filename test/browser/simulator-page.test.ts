/**
 * The simulator page as a person uses it, in Debian's chromium: ring up a
 * sale on the billing PC panel, let the phone read the QR from the LCD's
 * pixels in the page, pay, see and hear the result; a forged confirmation,
 * a broker outage and a button press.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot, SimulatorProcess } from './harness.js';

let sim: SimulatorProcess;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  sim = new SimulatorProcess(['--lang', 'en']);
  const url = await sim.pageUrl();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // A refused script, style or socket (the page's content security policy) shows here.
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(url);
  await waitForScreen('idle', 20_000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sim?.stop();
});

/** An attribute of the first element matching `selector`, once it has the wanted value. */
async function waitForAttribute(selector: string, name: string, want: string | ((value: string | null) => boolean), timeout = 15_000): Promise<void> {
  const ok = typeof want === 'string' ? (value: string | null) => value === want : want;
  const deadline = Date.now() + timeout;
  let value: string | null = null;
  for (;;) {
    value = await page.locator(selector).first().getAttribute(name, { timeout });
    if (ok(value)) return;
    if (Date.now() > deadline) throw new Error(`${selector} ${name} is ${JSON.stringify(value)}, not ${typeof want === 'string' ? JSON.stringify(want) : 'as wanted'}, after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The LCD's screen kind and banner, as the page labels the frame it shows. */
function lcd(name: 'data-screen' | 'data-offline'): Promise<string | null> {
  return page.locator('.lcd').first().getAttribute(name);
}

async function waitForScreen(screen: string, timeout = 15_000): Promise<void> {
  await waitForAttribute('.lcd', 'data-screen', screen, timeout);
}

async function text(selector: string): Promise<string> {
  return (await page.locator(selector).textContent()) ?? '';
}

async function ringUp(amount: string): Promise<void> {
  await page.getByLabel('Amount (₹)', { exact: true }).fill(amount);
  await page.getByRole('button', { name: 'Ring up sale' }).click();
  await waitForScreen('collect');
  // The phone panel shows the amount only once jsQR has read it from the LCD image in the page.
  await waitForAttribute('#phone-amount', 'data-amount', amount);
}

async function paidCount(): Promise<number> {
  return Number(await page.locator('#device-status').getAttribute('data-today-count'));
}

async function announcements(pattern: RegExp): Promise<string[]> {
  const lines = await page.locator('#speech-lines li').allTextContents();
  return lines.filter((line) => pattern.test(line));
}

describe('the simulator page', () => {
  it('changes the volume with a click on the device', async () => {
    await page.waitForSelector('#device-status[data-volume]');
    // Online: the link LED is lit from the pin the firmware drives.
    await waitForAttribute('.led.link', 'data-on', 'true');
    expect(await page.locator('.led.link').getAttribute('aria-label')).toBe('Link LED on');
    const before = Number(await page.locator('#device-status').getAttribute('data-volume'));
    await page.getByRole('button', { name: 'Vol +' }).click();
    await waitForAttribute('#device-status', 'data-volume', String(Math.min(10, before + 1)));
    await page.getByRole('button', { name: 'Vol −' }).click();
    await waitForAttribute('#device-status', 'data-volume', String(before));
  });

  it('presses a device button once from the keyboard, with Enter or Space', async () => {
    const before = Number(await page.locator('#device-status').getAttribute('data-volume'));
    await page.getByRole('button', { name: 'Vol −' }).press('Enter');
    await waitForAttribute('#device-status', 'data-volume', String(before - 1));
    await page.getByRole('button', { name: 'Vol +' }).press('Space');
    await waitForAttribute('#device-status', 'data-volume', String(before));
    // One press each: the click a browser adds after the key is not a second press.
    await new Promise((r) => setTimeout(r, 600));
    expect(await page.locator('#device-status').getAttribute('data-volume')).toBe(String(before));
  });

  it('rings up a sale, reads the QR from the LCD pixels on the phone, pays, and plays the announcement', async () => {
    await ringUp('250.00');
    await expect.poll(() => text('#phone-payee')).toBe('Simulated Post Office');
    await waitForAttribute('#phone-verified', 'data-state', 'verified');
    await expect.poll(() => text('#billing-lines')).toContain('"event":"qr"');
    await screenshot(page, 'simulator-qr');

    await page.getByRole('button', { name: 'Pay', exact: true }).click();
    await waitForScreen('paid');
    await expect.poll(paidCount, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => text('#billing-lines')).toContain('"event":"paid"');
    // The announcement was played by the page's <audio> element: its line is marked played
    // when the element fires 'ended', with the length of the element's played ranges then.
    const announcement = page.locator('#speech-lines li:has-text("Received")').first();
    await waitForAttribute('#speech-lines li:has-text("Received")', 'data-played', 'played', 20_000);
    expect(await announcement.textContent()).toMatch(/^SIM01 \[en\]: Received two hundred fifty rupees/);
    expect(Number(await announcement.getAttribute('data-heard-seconds'))).toBeGreaterThan(0.5);
    await screenshot(page, 'simulator-paid');
  });

  it('changes nothing for a forged confirmation', async () => {
    await ringUp('75.50');
    const paymentsBefore = await page.locator('#payment-rows tr').count();
    const paidBefore = await paidCount();
    await page.getByRole('button', { name: 'Send forged' }).click();
    await expect.poll(() => text('#fault-result')).toContain('forged confirmation');
    await expect.poll(() => text('#sale-result')).toContain('₹75.50');
    await expect.poll(() => text('#receipt-lines'), { timeout: 10_000 }).toContain('rejected');
    expect(await page.locator('#payment-rows tr').count()).toBe(paymentsBefore);
    expect(await paidCount()).toBe(paidBefore);
    expect(await lcd('data-screen')).toBe('collect');
    await screenshot(page, 'simulator-forged');
  });

  it('changes nothing for the last confirmation replayed', async () => {
    const paymentsBefore = await page.locator('#payment-rows tr').count();
    const paidBefore = await paidCount();
    const received = (await announcements(/Received/i)).length;
    await page.getByRole('button', { name: 'Replay last' }).click();
    await expect.poll(() => text('#fault-result')).toContain('the last confirmation again');
    await expect.poll(() => page.locator('#receipt-lines li').first().textContent(), { timeout: 10_000 }).toMatch(/duplicate/);
    expect(await page.locator('#payment-rows tr').count()).toBe(paymentsBefore);
    expect(await paidCount()).toBe(paidBefore);
    expect((await announcements(/Received/i)).length).toBe(received);
    expect(await lcd('data-screen')).toBe('collect');
  });

  it('shows the offline banner while the broker is down, and announces a payment made then once, after', async () => {
    const received = (await announcements(/Received/i)).length;
    const paidBefore = await paidCount();
    await page.locator('#broker-seconds').fill('4');
    await page.getByRole('button', { name: 'Stop broker' }).click();
    await waitForAttribute('.lcd', 'data-offline', 'true', 10_000);
    await screenshot(page, 'simulator-offline');
    await page.getByRole('button', { name: 'Pay', exact: true }).click();
    await expect.poll(() => text('#phone-result')).toContain('sent payment confirmation');
    expect(await lcd('data-screen')).toBe('collect');
    await waitForScreen('paid', 30_000);
    await waitForAttribute('.lcd', 'data-offline', 'false', 10_000);
    await expect.poll(async () => (await announcements(/Received/i)).length, { timeout: 15_000 }).toBe(received + 1);
    // Settled: the backend republishes until its receipt, and the device says it only once.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await announcements(/Received/i)).length).toBe(received + 1);
    expect(await paidCount()).toBe(paidBefore + 1);
  });

  it('cuts the power: the device starts again on the same ledger', async () => {
    await waitForScreen('idle', 20_000);
    const payments = await page.locator('#payment-rows tr').count();
    expect(payments).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Cut power' }).click();
    await expect.poll(() => text('#fault-result'), { timeout: 20_000 }).toContain('power cut');
    await waitForScreen('idle', 20_000);
    await expect.poll(() => page.locator('#payment-rows tr').count(), { timeout: 10_000 }).toBe(payments);
  });

  it('switches the panel to another size, and the phone still reads its QR', async () => {
    await page.getByLabel('Panel').selectOption('320x480');
    await waitForAttribute('.lcd', 'width', '320');
    expect(await page.locator('.lcd').getAttribute('height')).toBe('480');
    await ringUp('42.00');
    await screenshot(page, 'simulator-portrait');
    await page.getByLabel('Panel').selectOption('480x320');
    await waitForAttribute('.lcd', 'width', '480');
  });

  it('pulls the billing cable: the billing PC cannot ring up a sale until it is plugged back', async () => {
    await page.getByRole('button', { name: 'Pull cable' }).click();
    await expect.poll(() => text('#device-status')).toContain('billing cable out');
    await page.getByLabel('Amount (₹)', { exact: true }).fill('10.00');
    await page.getByRole('button', { name: 'Ring up sale' }).click();
    await expect.poll(() => text('#sale-result')).toContain('the billing cable is pulled out');
    expect(await page.locator('#sale-result').getAttribute('data-state')).toBe('bad');
    await page.getByRole('button', { name: 'Plug cable back' }).click();
    await expect.poll(() => text('#device-status')).not.toContain('billing cable out');
    await ringUp('10.00');
  });

  it('takes a button held for two seconds as a long press, while it is still held: cancel shows the info screen', async () => {
    const cancel = page.getByRole('button', { name: 'Cancel', exact: true });
    await cancel.hover();
    await page.mouse.down();
    // Still held: the firmware sees the pin low and acts at two seconds, as on the counter.
    await waitForScreen('info');
    await expect.poll(() => cancel.getAttribute('data-held')).toBe('true');
    await page.mouse.up();
    await screenshot(page, 'simulator-info');
  });

  it('threw nothing and logged no error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
