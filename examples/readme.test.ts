/**
 * The README's examples cannot drift: every function the README shows is a file in
 * examples/ (a code block naming `// examples/<file>` must equal that file), every
 * examples/ path it mentions exists, and every example function is run here through a
 * real redlet (embedded store, isolates in this process) on the inputs the README uses,
 * giving the outputs the README prints.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipFolder } from '../scripts/zip-folder.mjs';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { startRedlet, type RunningRedlet } from '../src/main.js';
import { packageRoot } from '../src/paths.js';

const root = packageRoot();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
const metrics = readFileSync(join(root, 'test', 'fixtures', 'metrics-example.json'), 'utf8');

let redlet: RunningRedlet;

beforeAll(async () => {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', REDLET_DEMO: '0', REDLET_COLLECT: '0', REDLET_SANDBOX: 'inline' });
  redlet = await startRedlet(config, silentLogger());
});

afterAll(async () => {
  await redlet?.stop();
});

async function deployFile(name: string, file: string, settings = {}): Promise<void> {
  const code = readFileSync(join(root, 'examples', file), 'utf8');
  await redlet.runtime.register({
    name,
    origin: 'api',
    source: { kind: 'file', filename: file, code },
    settings: { period: 3600, ...settings },
  });
}

async function invoke(name: string, input: string): Promise<unknown> {
  const r = await redlet.runtime.invoke(name, input);
  expect(r.ok, JSON.stringify(r.error)).toBe(true);
  return JSON.parse(r.output!);
}

describe('the README and examples/', () => {
  it('every code block that shows a function names its file in examples/ and equals it', () => {
    const functions = blocks.filter(
      (b) => ['js', 'ts', 'javascript', 'typescript'].includes(b.lang) && /export (async )?function|module\.exports/.test(b.code),
    );
    expect(functions.length).toBeGreaterThan(0);
    for (const b of functions) {
      const named = /^\/\/ (examples\/[\w./-]+):/.exec(b.code);
      expect(named, `a README function without its examples/ file:\n${b.code}`).not.toBeNull();
      const file = readFileSync(join(root, named![1]!), 'utf8');
      expect(b.code.trim()).toBe(file.trim());
    }
  });

  it('every examples/ path the README mentions exists', () => {
    // Paths that start at examples/ (k8s/examples/... is another folder).
    const paths = new Set([...readme.matchAll(/(?<![\w/])examples\/[\w./-]*[\w/]/g)].map((m) => m[0]));
    expect(paths.size).toBeGreaterThan(2);
    for (const p of paths) {
      // build/ holds what `npm run examples` makes; the rest is in the repository.
      if (p.startsWith('examples/build')) continue;
      expect(existsSync(join(root, p)), p).toBe(true);
    }
  });

  it('runs examples/avg.js on the README inputs, with the README outputs', async () => {
    await deployFile('avg', 'avg.js', { outputKey: 'cpu-mean' });
    // HTTP API and CLI: invoke on {"cpu_percent-0": 42}
    expect(await invoke('avg', '{"cpu_percent-0": 42}')).toEqual({ 'cpu-mean': 42, runs: 1 });
    expect(readme).toContain(`"output":{"cpu-mean":42,"runs":1}`);
    // Quick start: two CPUs
    expect(await invoke('avg', '{"cpu_percent-0": 10, "cpu_percent-1": 30}')).toEqual({ 'cpu-mean': 20, runs: 1 });
    expect(readme).toContain(`redlet invoke avg '{"cpu_percent-0": 10, "cpu_percent-1": 30}'`);
    // --input-file with the course's metrics snapshot
    const out = (await invoke('avg', metrics)) as { 'cpu-mean': number };
    const cpus = Object.entries(JSON.parse(metrics) as Record<string, number>).filter(([k]) => k.startsWith('cpu_percent-'));
    expect(out['cpu-mean']).toBeCloseTo(cpus.reduce((a, [, v]) => a + v, 0) / cpus.length, 9);
  });

  it('runs every other example function in examples/ (files and the ZIP folder)', async () => {
    const files = readdirSync(join(root, 'examples')).filter(
      (f) => /\.(m?js|cjs|m?ts)$/.test(f) && !f.endsWith('.test.ts') && f !== 'avg.js',
    );
    expect(files).toContain('course-reference.js');
    for (const f of files) {
      const name = `ex-${f.replace(/\W+/g, '-').toLowerCase()}`.replace(/-+$/, '');
      await deployFile(name, f);
      const out = await invoke(name, metrics);
      expect(out, f).toBeTypeOf('object');
    }
    await redlet.runtime.register({
      name: 'zip-stats',
      origin: 'api',
      source: { kind: 'zip', filename: 'zip-stats.zip', data: new Uint8Array(await zipFolder(join(root, 'examples', 'zip-stats'))) },
      settings: { period: 3600 },
    });
    expect(await invoke('zip-stats', metrics)).toBeTypeOf('object');
  });
});
