import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_FUNCTION_FILE, loadConfig, nameFromFile } from './config.js';

const none = () => false;

describe('loadConfig', () => {
  it('reserves redlet\'s prefixes and reads REDLET_FUNCTION_KEYS', () => {
    expect(loadConfig({}, none).functionKeys).toEqual({ reserved: ['redlet:'], allowed: null });
    const c = loadConfig({ REDLET_PREFIX: 'tenant-a:', REDLET_RESERVED_PREFIXES: 'tenant-b:, {tenant-c}:', REDLET_FUNCTION_KEYS: 'metrics*, *-output' }, none);
    expect(c.functionKeys).toEqual({ reserved: ['tenant-a:', 'redlet:', 'tenant-b:', '{tenant-c}:'], allowed: ['metrics*', '*-output'] });
    expect(() => loadConfig({ REDLET_PREFIX: '{}' }, none)).toThrow(ConfigError);
  });

  it('with a token, reads are protected unless REDLET_PUBLIC_READS=1', () => {
    const token = 'a-long-enough-secret-token';
    expect(loadConfig({ REDLET_API_TOKEN: token }, none).auth.protectReads).toBe(true);
    expect(loadConfig({ REDLET_API_TOKEN: token, REDLET_PUBLIC_READS: '1' }, none).auth.protectReads).toBe(false);
    expect(loadConfig({ REDLET_API_TOKEN: token, REDLET_PROTECT_READS: '0' }, none).auth.protectReads).toBe(false);
    expect(loadConfig({ REDLET_PROTECT_READS: '1' }, none).auth.protectReads).toBe(true);
    expect(() => loadConfig({ REDLET_API_TOKEN: token, REDLET_PUBLIC_READS: '1', REDLET_PROTECT_READS: '1' }, none)).toThrow(ConfigError);
  });

  it('defaults to the embedded store, the demo and the collector, with no compat function', () => {
    const c = loadConfig({}, none);
    expect(c.redis).toBeNull();
    expect(c.compat).toBeNull();
    expect(c.demo).toBe(true);
    expect(c.collector).toMatchObject({ enabled: true, key: 'metrics', intervalMs: 5000, netInterface: 'eth0' });
    expect(c.http).toMatchObject({ port: 8080, host: '0.0.0.0' });
    expect(c.prefix).toBe('redlet:');
    expect(c.auth).toEqual({ token: null, protectReads: false });
  });

  it('reads the course variables into one function', () => {
    const c = loadConfig(
      { REDIS_HOST: 'redis', REDIS_PORT: '6380', REDIS_INPUT_KEY: 'metrics', REDIS_OUTPUT_KEY: 'me-proj3-output', INTERVAL: '2.5', FUNCTION_FILE: '/opt/usermodule.js', HANDLER_FUNCTION: 'usermodule.handler' },
      none,
    );
    expect(c.redis).toEqual({ url: 'redis://redis:6380', host: 'redis', port: 6380 });
    expect(c.compat).toMatchObject({ name: 'usermodule', inputKey: 'metrics', outputKey: 'me-proj3-output', periodSeconds: 2.5, handler: 'usermodule.handler', file: '/opt/usermodule.js' });
    expect(c.demo).toBe(false);
    expect(c.collector.enabled).toBe(false);
  });

  it('MONITORING_PERIOD wins over INTERVAL; REDIS_URL over REDIS_HOST', () => {
    const c = loadConfig({ REDIS_URL: 'redis://10.0.0.1:7000/2', REDIS_HOST: 'ignored', MONITORING_PERIOD: '0.5', INTERVAL: '9', FUNCTION_FILE: 'f.js' }, none);
    expect(c.redis).toEqual({ url: 'redis://10.0.0.1:7000/2', host: '10.0.0.1', port: 7000 });
    expect(c.compat?.periodSeconds).toBe(0.5);
  });

  it('picks up /opt/usermodule.js when it exists, and warns when no output key is set', () => {
    const c = loadConfig({}, (p) => p === DEFAULT_FUNCTION_FILE);
    expect(c.compat?.file).toBe(DEFAULT_FUNCTION_FILE);
    expect(c.compat?.inputKey).toBe('metrics');
    expect(c.warnings.join()).toMatch(/REDIS_OUTPUT_KEY is not set/);
  });

  it.each([
    [{ REDIS_URL: 'http://x' }, /REDIS_URL must start with redis:\/\//],
    [{ REDIS_HOST: 'h', REDIS_PORT: '70000' }, /REDIS_PORT must be at most 65535/],
    [{ FUNCTION_FILE: 'a.js', FUNCTION_ZIP: 'b.zip' }, /set only one of FUNCTION_FILE, FUNCTION_ZIP, ZIP_URL/],
    [{ ZIP_URL: 'ftp://x/y.zip' }, /ZIP_URL must be an http/],
    [{ FUNCTION_FILE: 'a.js', FUNCTION_NAME: 'Bad_Name' }, /FUNCTION_NAME must be a DNS label/],
    [{ FUNCTION_FILE: 'a.js', FUNCTION_TRIGGER: 'cron' }, /FUNCTION_TRIGGER must be one of poll, keyspace/],
    [{ FUNCTION_FILE: 'a.js', FUNCTION_MEMORY_MB: '4' }, /FUNCTION_MEMORY_MB must be at least 8/],
    [{ PORT: 'eighty' }, /PORT must be a number/],
    [{ REDLET_API_TOKEN: 'short' }, /at least 16 characters/],
    [{ REDLET_DEMO: 'maybe' }, /REDLET_DEMO must be 1\/true/],
  ])('rejects %o with one clear line', (env, message) => {
    let err: unknown;
    try {
      loadConfig(env, none);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('reads the token from REDLET_API_TOKEN_FILE', () => {
    const c = loadConfig({ REDLET_API_TOKEN_FILE: '/run/secrets/token', REDLET_PROTECT_READS: '1' }, none, () => 'a-long-enough-secret-token\n');
    expect(c.auth).toEqual({ token: 'a-long-enough-secret-token', protectReads: true });
    expect(() => loadConfig({ REDLET_API_TOKEN_FILE: '/missing' }, none, () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    })).toThrow(/REDLET_API_TOKEN_FILE=\/missing: cannot read it \(ENOENT\)/);
  });
});

describe('nameFromFile', () => {
  it('makes a DNS label from a file name', () => {
    expect(nameFromFile('/opt/usermodule.js')).toBe('usermodule');
    expect(nameFromFile('My_Stats.v2.zip')).toBe('my-stats-v2');
    expect(nameFromFile('___.js')).toBe('function');
  });
});
