import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { zipFolder } from '../scripts/zip-folder.mjs';
import { evaluate } from '../test/helpers/bundle-harness.js';
import { bundleFunction } from './bundle.js';

const metrics: unknown = JSON.parse(readFileSync(new URL('../test/fixtures/metrics-example.json', import.meta.url), 'utf8'));

describe('examples/zip-stats', () => {
  it('zips, bundles and summarises a metrics snapshot', async () => {
    const data = await zipFolder(new URL('../examples/zip-stats', import.meta.url).pathname);
    const bundle = await bundleFunction({ kind: 'zip', filename: 'zip-stats.zip', data }, 'handler', { name: 'zip-stats' });
    expect(bundle.entry).toBe('index.js');
    expect(bundle.files).toEqual([
      'config.json',
      'index.js',
      'lib/format.cjs',
      'lib/stats.js',
      'node_modules/tiny-mean/index.js',
      'node_modules/tiny-mean/package.json',
      'package.json',
    ]);
    expect(bundle.warnings).toEqual([]);

    const handler = evaluate(bundle).handler as (input: unknown, context: unknown) => unknown;
    const result = handler(metrics, { env: {}, function_name: 'zip-stats' });
    expect(JSON.parse(JSON.stringify(result))).toEqual({
      cpu_count: 4,
      cpu_mean_percent: 18.33, // (3.4 + 12.0 + 0.8 + 57.1) / 4 = 18.325
      memory_used_percent: 36.73, // 9257938944 / 25202008064
      network_egress_percent: 2.14, // 9628190539 / (9628190539 + 440769386908)
      function: 'zip-stats',
    });
  });
});
