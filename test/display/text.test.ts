import { createCanvas } from 'canvas';
import { describe, expect, it } from 'vitest';
import { countdownFace } from '../../adapters/display/countdown.js';
import { planQr, qrVersionFor } from '../../adapters/display/qr.js';
import { CanvasTextMeasure, fitText, inkWidth, INK_GUARD, type TextSpec } from '../../adapters/display/text.js';
import { URI_COUNTER, URI_SIGNED } from './fixtures.js';

const measure = new CanvasTextMeasure(createCanvas(1, 1).getContext('2d'));
const ui = { role: 'ui', bold: false } as const;

function spec(text: TextSpec['text'], extra: Partial<TextSpec> = {}): TextSpec {
  return { text, style: ui, language: 'en', size: 24, minSize: 10, ...extra };
}

describe('countdown face', () => {
  const expiresAt = Date.UTC(2026, 0, 15, 4, 35);
  it.each([
    [300_000, '05:00', false],
    [299_001, '05:00', false],
    [299_000, '04:59', false],
    [61_000, '01:01', false],
    [31_000, '00:31', false],
    [30_000, '00:30', true],
    [500, '00:01', true],
    [0, '00:00', true],
    [-5_000, '00:00', true],
    [2 * 3600_000, '99:59', false],
  ])('%i ms before expiry shows %s', (remaining, text, urgent) => {
    expect(countdownFace(expiresAt, expiresAt - remaining)).toEqual({ text, urgent });
  });
});

describe('fitting text', () => {
  it('keeps the preferred size when the text fits', () => {
    const fitted = fitText(measure, spec('Ready'), 300);
    expect(fitted.size).toBe(24);
    expect(fitted.lines.map((l) => l.text)).toEqual(['Ready']);
  });

  it('shrinks to the largest size that fits, with the guard pixels to spare', () => {
    const fitted = fitText(measure, spec('Scan with any UPI app'), 150);
    expect(fitted.size).toBeLessThan(24);
    expect(fitted.width).toBeLessThanOrEqual(150 - 2 * INK_GUARD);
    const bigger = fitText(measure, spec('Scan with any UPI app', { size: fitted.size + 1, minSize: fitted.size + 1 }), 1000);
    expect(bigger.width).toBeGreaterThan(150 - 2 * INK_GUARD);
  });

  it('uses the short form of a phrase on a narrow panel instead of shrinking the long one', () => {
    const fitted = fitText(measure, spec(['Offline: payments confirm when back online', 'Offline']), 120);
    expect(fitted.lines.map((l) => l.text)).toEqual(['Offline']);
  });

  it('wraps onto two lines before shrinking far', () => {
    const fitted = fitText(measure, spec('Waiting for the next payment', { maxLines: 2 }), 200);
    expect(fitted.lines).toHaveLength(2);
    expect(fitted.size).toBe(24);
    for (const line of fitted.lines) expect(inkWidth(line.ink)).toBeLessThanOrEqual(200 - 2 * INK_GUARD);
  });

  it('breaks an address without spaces only when allowed', () => {
    const broker = 'mqtts://mqtt.dakbox.indiapost.example:8883';
    const whole = fitText(measure, spec(broker, { maxLines: 2, minSize: 20, breakWords: true }), 300);
    expect(whole.ellipsized).toBe(false);
    expect(whole.lines.map((l) => l.text).join('')).toBe(broker);
    expect(fitText(measure, spec(broker, { maxLines: 2, minSize: 20 }), 300).ellipsized).toBe(true);
  });

  it('cuts with an ellipsis at a grapheme boundary, never inside a conjunct', () => {
    const name = 'श्रीक्षेत्र प्रधान डाकघर';
    const fitted = fitText(measure, spec(name, { language: 'hi', minSize: 20 }), 90);
    expect(fitted.ellipsized).toBe(true);
    const shown = fitted.lines[0]?.text ?? '';
    expect(shown.endsWith('…')).toBe(true);
    const kept = shown.slice(0, -1);
    expect(name.startsWith(kept)).toBe(true);
    const boundaries = new Set([0, ...Array.from(new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(name), (s) => s.index + s.segment.length)]);
    expect(boundaries.has(kept.length)).toBe(true);
  });
});

describe('QR planning', () => {
  it('picks the largest whole module size, then spends spare room on error correction', () => {
    const version = qrVersionFor(URI_COUNTER, 'M');
    const modules = 17 + 4 * version;
    const plan = planQr(URI_COUNTER, 300);
    expect(plan?.modulePx).toBe(Math.floor(300 / (modules + 8)));
    expect(plan && plan.boxPx <= 300).toBe(true);
    const qVersion = qrVersionFor(URI_COUNTER, 'Q');
    const qFits = (17 + 4 * qVersion + 8) * (plan?.modulePx ?? 0) <= 300;
    expect(plan?.level === 'M').toBe(!qFits);
  });

  it('keeps M when stronger correction would need more room than allowed', () => {
    expect(planQr(URI_COUNTER, 240, 200)?.level).toBe('M');
  });

  it('reports a QR that cannot fit at one pixel per module', () => {
    expect(planQr(URI_SIGNED, 40)).toBeUndefined();
  });
});
