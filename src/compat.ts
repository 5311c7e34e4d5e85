/**
 * Course compatibility: turns the course's env variables (already validated by
 * config.ts into a CompatConfig) into one registered function: reads FUNCTION_FILE or
 * FUNCTION_ZIP, or downloads ZIP_URL with a size limit.
 *
 * @example
 * const fn = await loadCompatFunction(config.compat);
 * await runtime.register(fn);
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FunctionSource } from '../sandbox/types.js';
import type { CompatConfig } from './config.js';
import { RedletError } from './errors.js';
import type { RegisterInput } from './runtime/runtime.js';

export async function loadCompatFunction(c: CompatConfig, fetchImpl: typeof fetch = fetch): Promise<RegisterInput> {
  let source: FunctionSource;
  let mtime = Date.now();
  if (c.file) {
    const [code, info] = await readOrFail(c.file, 'FUNCTION_FILE', (p) => readFile(p, 'utf8'));
    source = { kind: 'file', filename: basename(c.file), code };
    mtime = info;
  } else if (c.zipPath) {
    const [data, info] = await readOrFail(c.zipPath, 'FUNCTION_ZIP', (p) => readFile(p));
    source = { kind: 'zip', filename: basename(c.zipPath), data: new Uint8Array(data) };
    mtime = info;
  } else {
    source = {
      kind: 'zip',
      filename: basename(new URL(c.zipUrl!).pathname) || 'function.zip',
      data: await download(c.zipUrl!, c.zipUrlMaxBytes, fetchImpl),
    };
  }
  return {
    name: c.name,
    source,
    origin: 'config',
    codeUpdatedAt: mtime,
    settings: {
      handler: c.handler,
      inputKey: c.inputKey,
      outputKey: c.outputKey,
      trigger: c.trigger,
      period: c.periodSeconds,
      invokeOn: c.invokeOn,
      memoryMb: c.memoryMb,
      timeoutMs: c.timeoutMs,
    },
  };
}

async function readOrFail<T>(path: string, variable: string, read: (p: string) => Promise<T>): Promise<[T, number]> {
  try {
    const [data, info] = await Promise.all([read(path), stat(path)]);
    return [data, info.mtimeMs];
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new RedletError('CONFIG_INVALID', `${variable}=${path}: cannot read it (${why})`);
  }
}

/** Downloads at most `maxBytes`; a larger or failed download is a clear error. */
async function download(url: string, maxBytes: number, fetchImpl: typeof fetch): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetchImpl(url, { redirect: 'follow', signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new RedletError('CONFIG_INVALID', `ZIP_URL=${url}: download failed (${(err as Error).message})`);
  }
  if (!res.ok || !res.body) throw new RedletError('CONFIG_INVALID', `ZIP_URL=${url}: the server answered ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > maxBytes)
    throw new RedletError(
      'CONFIG_INVALID',
      `ZIP_URL=${url}: ${declared} bytes, larger than the ${maxBytes}-byte limit (ZIP_URL_MAX_BYTES)`,
    );
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes)
      throw new RedletError('CONFIG_INVALID', `ZIP_URL=${url}: larger than the ${maxBytes}-byte limit (ZIP_URL_MAX_BYTES)`);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
