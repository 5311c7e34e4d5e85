// Uploads through a real HTTP server (startRedlet on an ephemeral port, real Redis):
// multipart and JSON uploads as clients send them, loopback seen from a real socket,
// and a 50 MB body turned away with 413 long before it has all arrived.
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { zipFolder } from '../../scripts/zip-folder.mjs';
import { adminClient, closeAdmin, form } from '../../test/helpers/api-harness.js';
import { deletePrefix, ownPrefix, redisUrl, testPrefix } from '../../test/helpers/redis.js';
import { loadConfig } from '../config.js';
import { silentLogger } from '../logger.js';
import { startRedlet, type RunningRedlet } from '../main.js';
import { packageRoot } from '../paths.js';

let prefix: string;
let redlet: RunningRedlet;
let base: string;

beforeEach(async () => {
  prefix = testPrefix();
  // No token: mutations from loopback only, which is what this socket is.
  const config = loadConfig({
    REDIS_URL: redisUrl(),
    REDLET_PREFIX: ownPrefix(prefix),
    PORT: '0',
    HOST: '127.0.0.1',
    REDLET_DEMO: '0',
    REDLET_COLLECT: '0',
  });
  redlet = await startRedlet(config, silentLogger());
  base = `http://127.0.0.1:${redlet.port}`;
});

afterEach(async () => {
  await redlet.stop();
  await deletePrefix(adminClient(), prefix);
});

afterAll(async () => {
  await closeAdmin();
});

async function keys(): Promise<string[]> {
  // The replica heartbeat is membership, not stored data: it changes on its own every second.
  return (await redlet.runtime.store.scan(`${prefix}*`)).filter((k) => k !== `${ownPrefix(prefix)}replicas`).sort();
}

describe('uploads through a real server', () => {
  it('multipart: a .js file and a ZIP, as curl -F would send them', async () => {
    const js = await fetch(`${base}/api/functions`, {
      method: 'POST',
      body: form({ name: 'hello', period: '1' }, { name: 'hello.js', data: 'export function handler(i) { return `hello ${i.who}` }' }),
    });
    expect(js.status, await js.clone().text()).toBe(201);
    const zip = await zipFolder(join(packageRoot(), 'examples', 'zip-stats'));
    const z = await fetch(`${base}/api/functions`, { method: 'POST', body: form({ name: 'stats' }, { name: 'stats.zip', data: zip }) });
    expect(z.status, await z.clone().text()).toBe(201);
    const inv = await fetch(`${base}/api/functions/hello/invoke`, { method: 'POST', body: '{"who":"redis"}' });
    expect(((await inv.json()) as { output: unknown }).output).toBe('hello redis');
    const list = (await (await fetch(`${base}/api/functions`)).json()) as { functions: Array<{ name: string }> };
    expect(list.functions.map((f) => f.name)).toEqual(['hello', 'stats']);
  });

  it('JSON with zipBase64', async () => {
    const zip = await zipFolder(join(packageRoot(), 'examples', 'zip-stats'));
    const res = await fetch(`${base}/api/functions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'stats', zipBase64: zip.toString('base64'), filename: 'zip-stats.zip', handler: 'index.handler' }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  });

  for (const chunked of [false, true]) {
    it(`a 50 MB body (${chunked ? 'chunked' : 'with Content-Length'}): 413 before it is all sent, nothing stored`, async () => {
      const before = await keys();
      const r = await sendLarge(redlet.port, 50 * 1024 * 1024, chunked);
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toMatchObject({
        error: { code: 'BODY_TOO_LARGE', message: expect.stringMatching(/10 MB.*REDLET_MAX_BODY_BYTES/) },
      });
      // The server answered after at most the limit (plus what sat in socket buffers), not 50 MB.
      expect(r.sentWhenAnswered).toBeLessThan(chunked ? 20 * 1024 * 1024 : 10 * 1024 * 1024);
      expect(await keys()).toEqual(before);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    });
  }
});

/** Streams `total` bytes of a JSON-looking body, stopping as soon as the server answers. */
function sendLarge(port: number, total: number, chunked: boolean): Promise<{ status: number; body: string; sentWhenAnswered: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/functions',
      headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(total) }) },
    });
    req.on('response', (res) => {
      answered = true;
      const sentWhenAnswered = sent;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body, sentWhenAnswered });
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    chunk.write('{"name":"big","source":"', 0);
    const pump = (): void => {
      while (!answered && sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}
