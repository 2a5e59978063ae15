import { describe, expect, it } from 'vitest';
import { barChart, lineChart, memoryChart, ticks } from '../bench/chart.js';

describe('benchmark charts', () => {
  it('picks round axis steps that cover the values', () => {
    expect(ticks(0, 100_000)).toEqual([0, 20_000, 40_000, 60_000, 80_000, 100_000]);
    expect(ticks(0, 137)).toEqual([0, 50, 100, 150]);
    expect(ticks(5, 5)).toEqual([5, 5.2, 5.4, 5.6, 5.8, 6]);
  });

  it('draws one line per series between the axes, with its name in the legend', () => {
    const svg = lineChart({
      title: 'RSS <over> sales',
      xLabel: 'sales',
      yLabel: 'MB',
      series: [
        { name: 'rss', points: [[0, 100], [1000, 110], [2000, 111]] },
        { name: 'heap', points: [[0, 30], [2000, 31]] },
      ],
      marks: [{ label: 'target', y: 90 }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<path d="M/g)).toHaveLength(2);
    expect(svg).toContain('RSS &lt;over&gt; sales');
    expect(svg).toContain('>heap</text>');
    expect(svg).toContain('stroke-dasharray');
    // Every coordinate of the lines lies inside the 720 x 360 picture.
    const coords = [...svg.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(coords).toHaveLength(5);
    for (const [x, y] of coords) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(720);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(360);
    }
  });

  it('draws a bar for each value of each group', () => {
    const svg = barChart({ title: 'latency', yLabel: 'ms', barNames: ['p50', 'p99'], groups: [{ label: 'en', values: [3, 9] }, { label: 'hi', values: [40, 80] }] });
    expect(svg.match(/<rect x=/g)?.length).toBe(4 + 2); // four bars, two legend swatches
    expect(svg).toContain('<title>hi p99: 80</title>');
  });

  it('charts a memory soak in megabytes', () => {
    const svg = memoryChart({ sales: 2000, bootRssBytes: 100 * 2 ** 20, samples: [{ sales: 0, rssBytes: 100 * 2 ** 20 }, { sales: 2000, rssBytes: 101 * 2 ** 20 }] });
    expect(svg).toContain('memory over 2,000 sales');
    expect(svg.match(/<path d="M/g)).toHaveLength(1);
  });
});
