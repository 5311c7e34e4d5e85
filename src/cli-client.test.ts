// The `redlet` client commands as a user runs them: real processes (ui/entry.ts under
// tsx) against a redlet running in this test with an API token, checking what they
// print and their exit codes (0 done, 1 refused or failed, 2 wrong command line).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipFolder } from '../scripts/zip-folder.mjs';
import { TEST_TOKEN } from '../test/helpers/api-harness.js';
import { testPrefix } from '../test/helpers/redis.js';
import { waitFor } from '../test/helpers/wait.js';
import { loadConfig } from './config.js';
import { silentLogger } from './logger.js';
import { startRedlet, type RunningRedlet } from './main.js';
import { packageRoot } from './paths.js';

let redlet: RunningRedlet;
let url: string;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `redlet <args>` in a child process with only the env given (plus PATH). */
function redletCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--no-node-snapshot', '--import', 'tsx', join(packageRoot(), 'ui', 'entry.ts'), ...args],
      { cwd: packageRoot(), env: { PATH: process.env.PATH ?? '', REDLET_URL: url, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** A port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const authed = { REDLET_API_TOKEN: TEST_TOKEN };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'redlet-cli-'));
  writeFileSync(
    join(dir, 'Hello_Fn.js'),
    `export function handler(i) { console.log('hello called'); if (i.fail) throw new RangeError('asked to fail'); return { hello: i.who ?? 'world' } }`,
  );
  writeFileSync(join(dir, 'v2.js'), `export function handler(i) { return { hello: 'v2' } }`);
  writeFileSync(join(dir, 'stats.zip'), await zipFolder(join(packageRoot(), 'examples', 'zip-stats')));
  const config = loadConfig({
    REDLET_PREFIX: testPrefix(),
    PORT: '0',
    HOST: '127.0.0.1',
    REDLET_DEMO: '0',
    REDLET_COLLECT: '0',
    REDLET_API_TOKEN: TEST_TOKEN,
  });
  redlet = await startRedlet(config, silentLogger());
  url = `http://127.0.0.1:${redlet.port}`;
});

afterAll(async () => {
  await redlet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('redlet CLI against a running redlet', () => {
  it('deploy: registers a file (name from the file), refuses a taken name, replaces it with --force', async () => {
    const first = await redletCli(['deploy', join(dir, 'Hello_Fn.js'), '--period', '60'], authed);
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/^registered 'hello-fn' from Hello_Fn\.js: handler 'handler', every 60 s on 'metrics'/);
    const again = await redletCli(['deploy', join(dir, 'v2.js'), '--name', 'hello-fn'], authed);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; run again with --force/);
    const forced = await redletCli(
      ['deploy', join(dir, 'v2.js'), '--name', 'hello-fn', '--force', '--period', '30', '--output-key', 'hello-out'],
      authed,
    );
    expect(forced, forced.stderr).toMatchObject({ code: 0 });
    expect(forced.stdout).toMatch(/^updated 'hello-fn' from v2\.js: .*every 30 s.*output 'hello-out'/);
    expect((await redlet.runtime.view('hello-fn')).definition).toMatchObject({ filename: 'v2.js', period: 30, outputKey: 'hello-out' });
  });

  it('deploy a ZIP, list, invoke, logs, rm', async () => {
    const zip = await redletCli(
      ['deploy', join(dir, 'stats.zip'), '--name', 'stats', '--trigger', 'keyspace', '--input-key', 'cli-in'],
      authed,
    );
    expect(zip, zip.stderr).toMatchObject({ code: 0 });
    expect(zip.stdout).toMatch(/registered 'stats' from stats\.zip: .*on writes to 'cli-in'/);
    const talk = await redletCli(
      ['deploy', join(dir, 'Hello_Fn.js'), '--name', 'talk', '--input-key', 'talk-in', '--period', '0.1'],
      authed,
    );
    expect(talk.code, talk.stderr).toBe(0);

    const [list, listJson, inv, failed, badJson] = await Promise.all([
      redletCli(['list'], authed),
      redletCli(['list', '--json'], authed),
      redletCli(['invoke', 'talk', '{"who":"cli"}'], authed),
      redletCli(['invoke', 'talk', '{"fail":true}'], authed),
      redletCli(['invoke', 'talk', '{nope'], authed),
    ]);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+ORIGIN\s+STATE\s+TRIGGER\s+INPUT\s+OUTPUT\s+RUNS\s+ERRORS\s+LAST RUN$/);
    expect(lines.find((l) => l.startsWith('stats '))).toMatch(/^stats\s+api\s+\w+\s+keyspace\s+cli-in\s+-\s+0\s+0\s+-$/);
    expect((JSON.parse(listJson.stdout) as { functions: Array<{ name: string }> }).functions.map((f) => f.name)).toContain('talk');
    expect(inv).toMatchObject({ code: 0 });
    expect(JSON.parse(inv.stdout)).toEqual({ hello: 'cli' });
    expect(inv.stderr).toContain('[log] hello called');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/the function failed \(\w+\): RangeError: asked to fail/);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/the input \(the argument or --input-file\) is not valid JSON/);
    writeFileSync(join(dir, 'input.json'), '{"who":"file"}');
    const [fromFile, both, empty] = await Promise.all([
      redletCli(['invoke', 'talk', '--input-file', join(dir, 'input.json')], authed),
      redletCli(['invoke', 'talk', '{}', '--input-file', join(dir, 'input.json')], authed),
      redletCli(['invoke', 'talk'], authed),
    ]);
    expect(fromFile, fromFile.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(fromFile.stdout)).toEqual({ hello: 'file' });
    expect(both).toMatchObject({ code: 2 });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(
      "redlet: input key 'talk-in' is empty; pass the input as an argument (redlet invoke <name> '{...}') or with --input-file <file>\n",
    );

    await redlet.runtime.store.set('talk-in', '{"who":"sched"}');
    await waitFor(async () => (await redlet.runtime.view('talk')).status.invocations > 0, 'a scheduled run');
    const logs = await redletCli(['logs', 'talk'], authed);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z log {3}hello called$/m);

    const rm = await redletCli(['rm', 'talk'], authed);
    expect(rm).toMatchObject({ code: 0, stdout: "deleted 'talk'\n" });
    expect(redlet.runtime.has('talk')).toBe(false);
    const rmAgain = await redletCli(['rm', 'talk'], authed);
    expect(rmAgain).toMatchObject({ code: 1, stderr: "redlet: no function named 'talk'\n" });
  });

  it('auth: no token and a wrong token are refused with the reason; --token and the env work', async () => {
    const file = join(dir, 'v2.js');
    const [none, wrong, flag] = await Promise.all([
      redletCli(['deploy', file, '--name', 'auth-a']),
      redletCli(['deploy', file, '--name', 'auth-b', '--token', 'wrong-token-0123456789']),
      redletCli(['deploy', file, '--name', 'auth-c', '--token', TEST_TOKEN]),
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      'redlet: this redlet needs its API token for this command (changes always need it; reads too, unless it runs with REDLET_PUBLIC_READS=1): pass --token <token> or set REDLET_API_TOKEN (or REDLET_API_TOKEN_FILE)\n',
    );
    expect(wrong).toMatchObject({ code: 1, stderr: 'redlet: the API token is wrong (check --token / REDLET_API_TOKEN)\n' });
    expect(flag.code, flag.stderr).toBe(0);
    expect(redlet.runtime.has('auth-a') || redlet.runtime.has('auth-b')).toBe(false);
  });

  it('usage errors exit 2; an unreachable redlet exits 1 saying so', async () => {
    const closed = await closedPort();
    const [noFile, badOpt, badCmd, noName, missing, down] = await Promise.all([
      redletCli(['deploy']),
      redletCli(['list', '--frobnicate']),
      redletCli(['frobnicate']),
      redletCli(['invoke']),
      redletCli(['deploy', join(dir, 'nope.js')]),
      redletCli(['list', '--url', `http://127.0.0.1:${closed}`]),
    ]);
    expect(noFile).toMatchObject({ code: 2 });
    expect(noFile.stderr).toMatch(/deploy needs the code/);
    expect(badOpt).toMatchObject({ code: 2 });
    expect(badOpt.stderr).toBe("redlet: unknown option '--frobnicate' for 'redlet list'\nrun 'redlet help list' for its options\n");
    expect(badCmd).toMatchObject({ code: 2 });
    expect(badCmd.stderr).toMatch(/^redlet: unknown command 'frobnicate'\n/);
    expect(noName).toMatchObject({ code: 2 });
    expect(noName.stderr).toMatch(/needs the function's name/);
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toMatch(/cannot read .*nope\.js.*no such file/);
    expect(down).toMatchObject({ code: 1 });
    expect(down.stderr).toContain(`cannot reach redlet at http://127.0.0.1:${closed} (ECONNREFUSED); is it running?`);
  });
});

// Each case starts a few node processes with tsx: slow on a loaded machine, not a speed target.
describe('redlet help, version and suggestions', { timeout: 300_000 }, () => {
  it('no arguments, --help and help print the overview (and start nothing); --version the version', async () => {
    const [bare, long, help, version] = await Promise.all([
      redletCli([]),
      redletCli(['--help']),
      redletCli(['help']),
      redletCli(['--version']),
    ]);
    expect(bare, bare.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(bare.stdout).toMatch(/^redlet 0\.\d+\.\d+: a sandboxed serverless runtime/);
    expect(bare.stdout).toMatch(/^ {2}start {2,}run the runtime/m);
    expect(bare.stdout).toMatch(/^ {2}deploy <file> {2,}register a function/m);
    expect(long.stdout).toBe(bare.stdout);
    expect(help.stdout).toBe(bare.stdout);
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    expect(version).toMatchObject({ code: 0, stdout: `redlet ${pkg.version}\n` });
  });

  it('help CMD and CMD --help print the command page; an unknown one suggests the closest', async () => {
    const [page, flag, startPage, typo, unknown] = await Promise.all([
      redletCli(['help', 'deploy']),
      redletCli(['deploy', '--help']),
      redletCli(['start', '--help']),
      redletCli(['help', 'dpeloy']),
      redletCli(['invok', 'x']),
    ]);
    expect(page).toMatchObject({ code: 0 });
    expect(page.stdout).toMatch(/^usage: redlet deploy <file\|zip> \[options\]/);
    expect(page.stdout).toMatch(/^ {2}--output-key K {2,}the Redis key to write the result to/m);
    expect(flag.stdout).toBe(page.stdout);
    expect(startPage).toMatchObject({ code: 0 });
    expect(startPage.stdout).toMatch(/^usage: redlet start\n/);
    expect(typo).toMatchObject({
      code: 2,
      stderr: "redlet: unknown command 'dpeloy'; did you mean 'deploy'?\nrun 'redlet help' for the commands\n",
    });
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toMatch(/^redlet: unknown command 'invok'; did you mean 'invoke'\?/);
  });

  it('an unknown flag names the closest one', async () => {
    const [outputkey, tokn, startFlag, lead] = await Promise.all([
      redletCli(['deploy', 'f.js', '--outputkey', 'o']),
      redletCli(['list', '--tokn', 'x']),
      redletCli(['start', '--prot', '9000']),
      redletCli(['--url', 'http://x']),
    ]);
    expect(outputkey).toMatchObject({
      code: 2,
      stderr:
        "redlet: unknown option '--outputkey' for 'redlet deploy'; did you mean --output-key?\nrun 'redlet help deploy' for its options\n",
    });
    expect(tokn.stderr).toMatch(/^redlet: unknown option '--tokn' for 'redlet list'; did you mean --token\?/);
    expect(startFlag).toMatchObject({ code: 2 });
    expect(startFlag.stderr).toMatch(/^redlet: unknown option '--prot' for 'redlet start'\nrun 'redlet help start'/);
    expect(lead).toMatchObject({ code: 2 });
    expect(lead.stderr).toMatch(/options go after the command/);
  });
});
