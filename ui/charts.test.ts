// The SVG charts and the formatting helpers: pure functions, rendered to strings.
import { describe, expect, it } from 'vitest';
import { Bars, chartPaths, fitDomain, formatSpan, percentCeiling, TimeSeries } from './charts.js';
import { bound, formatAgo, formatBytes, formatDuration, formatValue, prettyJson } from './format.js';

const NOW = 1_700_000_000_000;
const html = (el: unknown) => String(el);

describe('chartPaths', () => {
  const scale = { from: 0, span: 100, lo: 0, hi: 10 };

  it('draws a line and the area under it on the 300x60 box', () => {
    const { line, area } = chartPaths(
      [
        [0, 0],
        [50, 5],
        [100, 10],
      ],
      scale,
    );
    expect(line).toBe('M0,60L150,30L300,0');
    expect(area).toBe('M0,60L0,60L150,30L300,0L300,60Z');
  });

  it('breaks the line at a missing value and shows a lone point as a dash', () => {
    const { line } = chartPaths(
      [
        [0, 1],
        [10, 2],
        [20, null],
        [50, 5],
      ],
      scale,
    );
    expect(line).toBe('M0,54L30,48M150,30L152,30');
  });

  it('clamps values outside the domain and draws nothing without data', () => {
    expect(chartPaths([[0, 99]], scale).line).toBe('M0,0L2,0');
    expect(chartPaths([], scale)).toEqual({ line: '', area: '' });
  });
});

describe('axes', () => {
  it('gives percentages a round top above the data', () => {
    expect(percentCeiling([0.2])).toBe(1);
    expect(percentCeiling([4.5, 1])).toBe(5);
    expect(percentCeiling([4.9])).toBe(10);
    expect(percentCeiling([47])).toBe(50);
    expect(percentCeiling([49.5])).toBe(100);
    expect(percentCeiling([])).toBe(1);
  });

  it('fits other values with a little air, from 0 when the data is positive and close to it', () => {
    expect(fitDomain([])).toEqual([0, 1]);
    expect(fitDomain([5, 5])).toEqual([4.5, 5.5]);
    const [lo, hi] = fitDomain([100, 200]);
    expect(lo).toBeCloseTo(92);
    expect(hi).toBeCloseTo(208);
    expect(fitDomain([0.01, 10])[0]).toBe(0);
  });

  it('names the span drawn', () => {
    expect(formatSpan(30_000)).toBe('30 s');
    expect(formatSpan(600_000)).toBe('10 min');
  });
});

describe('TimeSeries', () => {
  const times = [NOW - 20_000, NOW - 10_000, NOW];

  it('renders the latest value, the point count and an accessible summary', () => {
    const out = html(
      TimeSeries({ id: 'c1', label: 'Memory cache', unit: '%', times, values: [1, 2, 3.456], now: NOW, windowMs: 600_000, percent: true }),
    );
    expect(out).toContain('id="c1"');
    expect(out).toContain('data-points="3"');
    expect(out).toContain('3.46%');
    expect(out).toContain('aria-label="Memory cache: latest 3.46%, over the last 30 s"');
    expect(out).toContain('<div class="y-ticks" aria-hidden="true"><span>5%</span><span>2.5%</span><span>0%</span></div>');
    // The hover read-out's data: seconds after the left edge, values.
    expect(out).toContain('data-t="10,20,30" data-v="1,2,3.456"');
  });

  it('keeps a fixed domain (CPU charts share 0-100 %)', () => {
    const out = html(
      TimeSeries({
        id: 'c',
        label: 'CPU 0',
        unit: '%',
        times,
        values: [1, 2, 3],
        now: NOW,
        windowMs: 600_000,
        percent: true,
        domain: [0, 100],
      }),
    );
    expect(out).toContain('<span>100%</span><span>50%</span><span>0%</span>');
    expect(out).toContain('data-lo="0" data-hi="100"');
  });

  it('leaves out points older than the window, and says when there is no data', () => {
    const out = html(TimeSeries({ id: 'c', label: 'x', unit: '', times: [NOW - 700_000], values: [1], now: NOW, windowMs: 600_000 }));
    expect(out).toContain('data-points="0"');
    expect(out).toContain('x: no data');
  });

  it('escapes labels', () => {
    const out = html(
      TimeSeries({ id: 'c', label: '<script>alert(1)</script>', unit: '', times, values: [1, 2, 3], now: NOW, windowMs: 600_000 }),
    );
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;script&gt;');
  });
});

describe('Bars', () => {
  it('draws one bar per item, scaled to max and coloured by level', () => {
    const out = html(
      Bars({
        id: 'b',
        label: 'cpu',
        max: 100,
        unit: '%',
        items: [
          { key: 'a', label: 'CPU 0', value: 10 },
          { key: 'b', label: 'CPU 1', value: 90 },
          { key: 'c', label: 'CPU 2', value: null },
        ],
      }),
    );
    expect(out.match(/class="bar-row"/g)).toHaveLength(3);
    expect(out).toContain('class="bar-fill level-ok" x="0" y="0" width="10.00"');
    expect(out).toContain('class="bar-fill level-high" x="0" y="0" width="90.00"');
    expect(out).toContain('—');
  });
});

describe('format', () => {
  it('writes durations, sizes, ages and values for people', () => {
    expect(formatDuration(0.4212)).toBe('0.42 ms');
    expect(formatDuration(12.34)).toBe('12.3 ms');
    expect(formatDuration(2500)).toBe('2.50 s');
    expect(formatDuration(null)).toBe('—');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64.0 MB');
    expect(formatAgo(NOW - 3000, NOW)).toBe('3 s ago');
    expect(formatAgo(NOW - 600_000, NOW)).toBe('10 min ago');
    expect(formatAgo(null, NOW)).toBe('never');
    expect(formatValue(41.9712)).toBe('41.97');
    expect(formatValue(1234.56)).toBe('1234.6');
    expect(formatValue(3)).toBe('3');
    expect(formatValue(2e9)).toBe('2.00e+9');
  });

  it('bounds text and pretty-prints JSON', () => {
    expect(bound('abcdef', 4)).toEqual({ text: 'abcd', omitted: 2 });
    expect(prettyJson('{"a":1}', 100).text).toBe('{\n  "a": 1\n}');
    expect(prettyJson('not json', 3)).toEqual({ text: 'not', omitted: 5 });
  });
});
