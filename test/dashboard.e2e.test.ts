// The dashboard end to end in a real headless browser (Debian's chromium driven by
// playwright-core): a whole redlet as `npm start` runs it (embedded store, the
// collector every second, the course reference function), the charts appearing and
// updating, a function registered through the form, invoked, deleted; a narrow
// screen; no error in the browser console; values on hover and tap, the open function
// in the URL, a 390 px phone, and the stale banner's reasons. It saves a screenshot to
// test-results/dashboard.png, and to ui/screenshot.png (the README's) when
// REDLET_UPDATE_SCREENSHOT=1.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { startRedlet, type RunningRedlet } from '../src/main.js';
import { packageRoot } from '../src/paths.js';
import { mountUi } from '../ui/index.js';

const CHROMIUM = process.env.REDLET_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'e2e-token-0123456789abcdef';

/** A second function for the screenshot, chained on the reference function's output. */
const CPU_PEAK = `export function handler(input: Record<string, number | null>) {
  const cpus = Object.entries(input).filter(([k, v]) => k.startsWith('avg-util-cpu') && typeof v === 'number').map(([, v]) => v as number);
  return { 'peak-cpu-percent': Math.max(...cpus), 'mean-cpu-percent': cpus.reduce((a, b) => a + b, 0) / cpus.length };
}
`;

let browser: Browser;
const running: RunningRedlet[] = [];
let dir: string;

beforeAll(async () => {
  // Fail, never skip: a missing browser must not pass as a green suite.
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the browser test needs Chromium at ${CHROMIUM}: install it with 'apt-get install -y chromium' (or set REDLET_CHROMIUM)`,
    );
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  dir = mkdtempSync(join(tmpdir(), 'redlet-e2e-'));
});

afterAll(async () => {
  // The browser first: its polls would fail against a stopped server.
  await browser?.close();
  for (const r of running) await r.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function redlet(env: Record<string, string>): Promise<string> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  const r = await startRedlet(config, silentLogger(), { mountUi });
  running.push(r);
  return `http://127.0.0.1:${r.port}`;
}

/** A page that records every console error and uncaught exception. */
async function openPage(width = 1280, height = 1000): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { page, errors };
}

describe('the dashboard in a browser', () => {
  it('shows live charts, registers, invokes and deletes a function, fits a phone', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const base = await redlet({ REDLET_COLLECT_INTERVAL: '1' });
    const { page, errors } = await openPage();
    await page.goto(base);

    // Zero-setup demo: live data with nothing registered by hand (how soon is the bench's to measure).
    const cpu0 = page.locator('#metric-avg-util-cpu0-60sec');
    await cpu0.waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('#metric-charts .chart').count()).toBeGreaterThanOrEqual(3);
    await expect.poll(() => page.locator('#cpu-bars .bar-row').count()).toBeGreaterThanOrEqual(1);
    await expect.poll(() => cpu0.locator('path.line').getAttribute('d')).toMatch(/^M/);

    // The charts update in place (htmx polling), without a reload (a reload would lose the marker).
    await page.evaluate('window.marker = 42');
    const firstUpdate = await page.locator('#metrics-updated').textContent();
    const firstPoints = Number(await cpu0.getAttribute('data-points'));
    await expect.poll(() => page.locator('#metrics-updated').textContent(), { timeout: 10_000 }).not.toBe(firstUpdate);
    await expect
      .poll(async () => Number(await page.locator('#metric-avg-util-cpu0-60sec').getAttribute('data-points')), { timeout: 10_000 })
      .toBeGreaterThan(firstPoints);
    await expect.poll(() => page.locator('#row-course-reference .badge').textContent()).toMatch(/idle|running/);

    // Register through the form: first a broken file (the API's error shows inline)...
    const broken = join(dir, 'broken.js');
    writeFileSync(broken, 'export function handler( {');
    await page.locator('#register-form input[name=code]').setInputFiles(broken);
    await page.getByLabel('Name').fill('e2e-broken');
    await page.getByRole('button', { name: 'Register' }).click();
    await expect.poll(() => page.locator('#register-result .form-error').textContent()).toContain('broken.js');

    // ...then a good one: its row appears without a reload.
    const good = join(dir, 'double.js');
    writeFileSync(
      good,
      "export function handler(input) {\n  console.log('doubling');\n  return { doubled: input['cpu_percent-0'] * 2, note: '<script>alert(1)</script>' };\n}\n",
    );
    await page.locator('#register-form input[name=code]').setInputFiles(good);
    await page.getByLabel('Name').fill('e2e-double');
    await page.getByLabel('Output key').fill('e2e-double-output');
    await page.getByLabel('Trigger').selectOption('keyspace');
    await page.getByRole('button', { name: 'Register' }).click();
    await expect.poll(() => page.locator('#register-result .form-ok').textContent()).toContain('Registered e2e-double');
    await page.locator('#row-e2e-double').waitFor({ timeout: 5000 });
    expect(await page.locator('#register-form input[name=name]').inputValue()).toBe('');

    // Open its detail, invoke it (the result shows inline, escaped).
    await page.locator('#row-e2e-double .fn-name').click();
    await page.locator('#detail [data-function="e2e-double"]').waitFor();
    await page.getByRole('button', { name: 'Invoke now' }).click();
    const result = page.locator('#invoke-result [data-ok="true"]');
    await result.waitFor({ timeout: 5000 });
    expect(await result.textContent()).toContain('"doubled"');
    expect(await result.textContent()).toContain('<script>alert(1)</script>');
    expect(await page.locator('#invoke-result script').count()).toBe(0);
    await expect.poll(() => page.locator('#logs').textContent(), { timeout: 8000 }).toContain('doubling');

    // Pause and resume.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    await expect.poll(() => page.locator('#row-e2e-double .badge').textContent()).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();

    // Delete it, accepting the confirmation.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.locator('#detail').textContent()).toContain('Deleted e2e-double');
    await expect.poll(() => page.locator('#row-e2e-double').count()).toBe(0);
    expect(await page.evaluate('window.marker')).toBe(42);

    // A phone: nothing scrolls sideways, the form still has its labels.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(300);
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(375);
    await expect.poll(() => page.getByLabel('Name').isVisible()).toBe(true);

    // The screenshot: a desktop with a second function chained on the demo's output and the
    // demo's detail open; for the README's copy (REDLET_UPDATE_SCREENSHOT=1), 32 s of live data.
    await running[0]!.runtime.register({
      name: 'cpu-peak',
      origin: 'api',
      source: { kind: 'file', filename: 'cpu-peak.ts', code: CPU_PEAK },
      settings: { inputKey: 'course-reference-output', outputKey: 'cpu-peak-output', trigger: 'keyspace' },
    });
    // Opened from its address: /?fn= renders the detail with the page.
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.goto(`${base}/?fn=course-reference`);
    await page.locator('#detail [data-function="course-reference"]').waitFor();
    // A fuller picture for the README (the charts span 30 s at first).
    const waitMore = 32_000 - (Date.now() - started);
    if (process.env.REDLET_UPDATE_SCREENSHOT === '1' && waitMore > 0) await page.waitForTimeout(waitMore);
    await page.locator('#row-cpu-peak').waitFor();
    await page.waitForTimeout(3200);
    await page.evaluate('window.scrollTo(0, 0)');
    const out = join(packageRoot(), 'test-results');
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, 'dashboard.png') });
    if (process.env.REDLET_UPDATE_SCREENSHOT === '1') copyFileSync(join(out, 'dashboard.png'), join(packageRoot(), 'ui', 'screenshot.png'));

    expect(errors).toEqual([]);
    await page.close();
  });

  it(
    'reads values on hover and tap, keeps the open function in the URL, fits 390 px, says why data is stale',
    { timeout: 120_000 },
    async () => {
      // The pages' clock can be moved ahead, so the data turns stale without waiting.
      let ahead = 0;
      const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', REDLET_COLLECT: '0', REDLET_SANDBOX: 'inline' });
      const r = await startRedlet(config, silentLogger(), {
        mountUi: (app, runtime) => mountUi(app, runtime, { clock: () => Date.now() + ahead }),
      });
      running.push(r);
      const base = `http://127.0.0.1:${r.port}`;
      const sample = JSON.parse(readFileSync(join(packageRoot(), 'test', 'fixtures', 'metrics-example.json'), 'utf8')) as Record<
        string,
        number
      >;
      for (let i = 0; i < 3; i++) {
        await r.runtime.store.set('metrics', JSON.stringify({ ...sample, timestamp: `2026-01-01 00:00:0${i}.000000` }));
        const n = i + 1;
        await expect
          .poll(async () => (await r.runtime.view('course-reference')).status.invocations, { timeout: 10_000 })
          .toBeGreaterThanOrEqual(n);
      }
      const { page, errors } = await openPage();
      await page.goto(base);
      const cpu0 = page.locator('#metric-avg-util-cpu0-60sec');
      await cpu0.waitFor({ timeout: 10_000 });

      // CPU charts share one fixed 0-100 % axis with ticks.
      expect(await cpu0.locator('.y-ticks span').allTextContents()).toEqual(['100%', '50%', '0%']);
      // Hover: the newest point's value and time under the pointer.
      const frame = cpu0.locator('.chart-frame');
      const box = (await frame.boundingBox())!;
      await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
      const tip = cpu0.locator('.chart-tip');
      await expect.poll(() => tip.isVisible()).toBe(true);
      const values = (await cpu0.getAttribute('data-v'))!.split(',');
      const unit = (await cpu0.getAttribute('data-unit'))!;
      expect(unit).toBe('%');
      const read = /^([\d.]+)% at \d\d:\d\d:\d\d$/.exec((await tip.textContent()) ?? '');
      expect(read, (await tip.textContent()) ?? '').not.toBeNull();
      expect(Number(read![1])).toBeCloseTo(Number(values.at(-1)), 2);
      await page.mouse.move(5, 5);
      await expect.poll(() => tip.isVisible()).toBe(false);

      // Clicking a function puts it in the URL; a reload opens the same detail.
      await page.locator('#row-course-reference .fn-name').click();
      await page.locator('#detail [data-function="course-reference"]').waitFor();
      await expect.poll(() => new URL(page.url()).searchParams.get('fn')).toBe('course-reference');
      expect(await page.locator('#row-course-reference').getAttribute('aria-selected')).toBe('true');
      await page.reload();
      await page.locator('#detail [data-function="course-reference"]').waitFor();
      await expect.poll(() => page.locator('#row-course-reference').getAttribute('aria-selected')).toBe('true');

      // A phone (390 px): nothing scrolls sideways, chart labels are not cut, a tap shows a value.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
      const cut = await page.evaluate(`[...document.querySelectorAll('.chart-label, .chart-axis span, .y-ticks span, .panel-head h2')]
      .filter((e) => e.offsetParent !== null && (e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > window.innerWidth))
      .map((e) => e.textContent)`);
      expect(cut).toEqual([]);
      const phoneFrame = page.locator('#metric-avg-util-cpu1-60sec .chart-frame');
      await phoneFrame.scrollIntoViewIfNeeded();
      const pbox = (await phoneFrame.boundingBox())!;
      await page.mouse.click(pbox.x + pbox.width - 1, pbox.y + pbox.height / 2);
      await expect.poll(() => page.locator('#metric-avg-util-cpu1-60sec .chart-tip').textContent()).toMatch(/% at \d\d:\d\d:\d\d$/);

      // Stale: the input has not changed since the last run, and the banner says so.
      await page.setViewportSize({ width: 1280, height: 1000 });
      ahead = 120_000;
      const stale = page.locator('#metrics .stale');
      await stale.waitFor({ timeout: 10_000 });
      // The reason follows the function's counters: after the next unchanged tick at the latest.
      await expect.poll(() => stale.getAttribute('data-reason'), { timeout: 10_000 }).toBe('unchanged');
      expect(await stale.textContent()).toMatch(/input unchanged since \d\d:\d\d:\d\d/);
      // Paused: the reason follows.
      await r.runtime.pause('course-reference');
      await expect.poll(() => stale.getAttribute('data-reason'), { timeout: 10_000 }).toBe('paused');
      await r.runtime.resume('course-reference');
      ahead = 0;

      // The "(N s ago)" clock keeps counting after the server is gone.
      await page.close();
      const { page: last, errors: lastErrors } = await openPage();
      await last.goto(base);
      const ago = last.locator('#metrics .ago');
      await ago.waitFor();
      await r.stop();
      running.splice(running.indexOf(r), 1);
      const before = await ago.textContent();
      await expect.poll(() => ago.textContent(), { timeout: 5000 }).not.toBe(before);
      expect(await ago.textContent()).toMatch(/^\d+ (s|min) ago$/);
      await last.close();
      expect(errors).toEqual([]);
      expect(lastErrors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
    },
  );

  it('signs in with the API token and out again', { timeout: 60_000 }, async () => {
    const base = await redlet({ REDLET_DEMO: '0', REDLET_COLLECT: '0', REDLET_API_TOKEN: TOKEN });
    const { page, errors } = await openPage();
    await page.goto(base);
    // With a token, reading needs sign-in too: no functions, no register form yet.
    await page.getByText('sign in with the API token').waitFor();
    expect(await page.getByLabel('Name').count()).toBe(0);

    await page.getByLabel('API token').fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#auth .form-error').textContent()).toContain('not the API token');

    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('signed in: read-write').waitFor();
    expect(await page.getByLabel('Name').isDisabled()).toBe(false);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'redlet_token');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await page.evaluate('document.cookie')).not.toContain('redlet_token');

    // CSRF: the browser's own same-origin fetch with the session cookie but without the
    // page's CSRF token is refused; the form (htmx sends the token) works.
    const forged = await page.evaluate(async () => {
      const f = new FormData();
      f.set('name', 'forged');
      f.set('code', new File(['export const handler = () => 1'], 'forged.js'));
      const r = await fetch('/api/functions', { method: 'POST', body: f });
      return { status: r.status, body: await r.text() };
    });
    expect(forged.status, forged.body).toBe(403);
    expect(forged.body).toContain('CSRF_REJECTED');
    // The browser reports the refused request on its console: that one is expected.
    const refused = errors.findIndex((e) => e.includes('status of 403'));
    expect(refused).toBeGreaterThanOrEqual(0);
    errors.splice(refused, 1);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });
});
