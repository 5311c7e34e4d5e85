import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_FUNCTION_FILE, loadConfig, nameFromFile } from './config.js';
import { LIMITS, nameSchema, validateSettings } from './function-definition.js';

const none = () => false;

describe('loadConfig', () => {
  it("reserves redlet's prefixes and reads REDLET_FUNCTION_KEYS", () => {
    expect(loadConfig({}, none).functionKeys).toEqual({ reserved: ['redlet:'], allowed: null });
    const c = loadConfig(
      { REDLET_PREFIX: 'tenant-a:', REDLET_RESERVED_PREFIXES: 'tenant-b:, {tenant-c}:', REDLET_FUNCTION_KEYS: 'metrics*, *-output' },
      none,
    );
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

  it('LOG_FORMAT is json, pretty or auto (pretty on a terminal), and nothing else', () => {
    expect(loadConfig({}, none).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'json' }, none).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }, none).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'yaml' }, none)).toThrow(/LOG_FORMAT must be one of json, pretty, auto/);
  });

  it('reads the course variables into one function', () => {
    const c = loadConfig(
      {
        REDIS_HOST: 'redis',
        REDIS_PORT: '6380',
        REDIS_INPUT_KEY: 'metrics',
        REDIS_OUTPUT_KEY: 'me-proj3-output',
        INTERVAL: '2.5',
        FUNCTION_FILE: '/opt/usermodule.js',
        HANDLER_FUNCTION: 'usermodule.handler',
      },
      none,
    );
    expect(c.redis).toEqual({ url: 'redis://redis:6380', host: 'redis', port: 6380 });
    expect(c.compat).toMatchObject({
      name: 'usermodule',
      inputKey: 'metrics',
      outputKey: 'me-proj3-output',
      periodSeconds: 2.5,
      handler: 'usermodule.handler',
      file: '/opt/usermodule.js',
    });
    expect(c.demo).toBe(false);
    expect(c.collector.enabled).toBe(false);
  });

  it('MONITORING_PERIOD wins over INTERVAL; REDIS_URL over REDIS_HOST', () => {
    const c = loadConfig(
      { REDIS_URL: 'redis://10.0.0.1:7000/2', REDIS_HOST: 'ignored', MONITORING_PERIOD: '0.5', INTERVAL: '9', FUNCTION_FILE: 'f.js' },
      none,
    );
    expect(c.redis).toEqual({ url: 'redis://10.0.0.1:7000/2', host: '10.0.0.1', port: 7000 });
    expect(c.compat?.periodSeconds).toBe(0.5);
  });

  it('picks up /opt/usermodule.js when it exists, and warns when no output key is set', () => {
    const c = loadConfig({}, (p) => p === DEFAULT_FUNCTION_FILE);
    expect(c.compat?.file).toBe(DEFAULT_FUNCTION_FILE);
    expect(c.compat?.inputKey).toBe('metrics');
    expect(c.warnings.join()).toMatch(/REDIS_OUTPUT_KEY is not set/);
  });

  it('picks up /opt/usermodule.py like /opt/usermodule.js, with the Python memory default', () => {
    const c = loadConfig({ REDIS_OUTPUT_KEY: 'me-proj3-output' }, (p) => p === '/opt/usermodule.py');
    expect(c.compat).toMatchObject({ file: '/opt/usermodule.py', name: 'usermodule', memoryMb: 128 });
    expect(loadConfig({ FUNCTION_FILE: 'x.py', FUNCTION_MEMORY_MB: '96' }, () => false).compat?.memoryMb).toBe(96);
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
    [{ REDLET_API_TOKEN: 'a-long-enough-secret-token', REDLET_PUBLIC_READS: 'maybe' }, /REDLET_PUBLIC_READS must be 1\/true/],
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
    const c = loadConfig(
      { REDLET_API_TOKEN_FILE: '/run/secrets/token', REDLET_PROTECT_READS: '1' },
      none,
      () => 'a-long-enough-secret-token\n',
    );
    expect(c.auth).toEqual({ token: 'a-long-enough-secret-token', protectReads: true });
    expect(() =>
      loadConfig({ REDLET_API_TOKEN_FILE: '/missing' }, none, () => {
        throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      }),
    ).toThrow(/REDLET_API_TOKEN_FILE=\/missing: cannot read it \(ENOENT\)/);
  });
});

describe('the example secrets published with redlet', () => {
  it.each([
    [{ REDLET_API_TOKEN: 'REPLACE-ME-example-token-not-secret' }, /^REDLET_API_TOKEN: this is the example value/],
    [{ REDLET_API_TOKEN: 'replace-me-with-something-long' }, /^REDLET_API_TOKEN: /],
    [{ REDIS_HOST: 'redis', REDIS_PASSWORD: 'REPLACE-ME-example-redis-password' }, /^REDIS_PASSWORD: /],
    [{ REDIS_URL: 'redis://:REPLACE-ME-example-redis-password@redis:6379' }, /^the password in REDIS_URL: /],
    [
      { REDLET_API_TOKEN: 'REPLACE-ME-example-token-not-secret', REDIS_HOST: 'redis', REDIS_PASSWORD: 'REPLACE-ME-example-redis-password' },
      /^REDLET_API_TOKEN and REDIS_PASSWORD: these are the example values/,
    ],
  ])('refuses %o, saying how to make a secret of your own', (env, message) => {
    expect(() => loadConfig(env, none)).toThrow(ConfigError);
    expect(() => loadConfig(env, none)).toThrow(message);
    expect(() => loadConfig(env, none)).toThrow(/make your own \(e\.g\. `openssl rand -hex 32`/);
  });

  it('refuses the example token from REDLET_API_TOKEN_FILE too, and accepts a token of your own', () => {
    expect(() => loadConfig({ REDLET_API_TOKEN_FILE: '/run/t' }, none, () => 'REPLACE-ME-example-token-not-secret\n')).toThrow(
      /^REDLET_API_TOKEN_FILE: /,
    );
    expect(
      loadConfig({ REDLET_API_TOKEN: '3f1c0a9be8d24c71a5e6', REDIS_HOST: 'redis', REDIS_PASSWORD: 'another-one-of-mine' }, none).auth.token,
    ).toBe('3f1c0a9be8d24c71a5e6');
  });
});

describe('nameFromFile', () => {
  it('makes a DNS label from a file name', () => {
    expect(nameFromFile('/opt/usermodule.js')).toBe('usermodule');
    expect(nameFromFile('My_Stats.v2.zip')).toBe('my-stats-v2');
    expect(nameFromFile('___.js')).toBe('function');
    // Cut to the longest name allowed, never ending in '-'.
    expect(nameFromFile(`${'a'.repeat(62)}-b.js`)).toBe('a'.repeat(62));
  });
});

describe('one rule for each limit of a function', () => {
  const settings = {
    handler: 'handler',
    inputKey: 'in',
    outputKey: 'out',
    trigger: 'poll',
    invokeOn: 'change',
    period: 5,
    memoryMb: 64,
    timeoutMs: 5000,
  };
  const file = { FUNCTION_FILE: 'a.js' };
  it.each([
    ['memoryMb', 'FUNCTION_MEMORY_MB', LIMITS.memoryMb],
    ['memoryMb', 'REDLET_DEFAULT_MEMORY_MB', LIMITS.memoryMb],
    ['timeoutMs', 'FUNCTION_TIMEOUT_MS', LIMITS.timeoutMs],
    ['timeoutMs', 'REDLET_DEFAULT_TIMEOUT_MS', LIMITS.timeoutMs],
    ['period', 'MONITORING_PERIOD', LIMITS.period],
  ] as const)('%s and %s accept the same range', (field, variable, range) => {
    for (const [value, ok] of [
      [range.min, true],
      [range.max, true],
      [range.max + 1, false],
      [range.min / 2, false],
    ] as const) {
      const fromApi = () => validateSettings({ ...settings, [field]: value });
      const fromEnv = () => loadConfig({ ...file, [variable]: String(value) }, none);
      if (ok) {
        expect(fromApi).not.toThrow();
        expect(fromEnv).not.toThrow();
      } else {
        expect(fromApi).toThrow(new RegExp(`^${field} must be`));
        expect(fromEnv).toThrow(new RegExp(`^${variable} must be`));
      }
    }
  });

  it('FUNCTION_NAME follows the name pattern and length of the API', () => {
    const long = 'a'.repeat(LIMITS.nameLength + 1);
    for (const name of ['ok-name', 'Bad_Name', '-x', long]) {
      const api = nameSchema.safeParse(name).success;
      if (api) expect(loadConfig({ ...file, FUNCTION_NAME: name }, none).compat?.name).toBe(name);
      else expect(() => loadConfig({ ...file, FUNCTION_NAME: name }, none)).toThrow(/FUNCTION_NAME must be a DNS label/);
    }
  });
});
