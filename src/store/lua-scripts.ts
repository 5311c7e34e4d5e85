/**
 * redlet's Lua scripts, one `.lua` file each in `lua/` (copied to dist/ by the build),
 * each opening with a header that names its KEYS and ARGV and what it returns. They
 * are read once and registered on a client with ioredis' `defineCommand`, so a call
 * sends EVALSHA (the script text goes once per connection) on a single Redis, Sentinel
 * and Cluster alike, and inside pipelines. The number of keys comes from the header:
 * fixed when it lists `KEYS[1]`, `KEYS[2]`, ...; given per call when it lists a range
 * (`KEYS[2..n]`).
 *
 * @example
 * defineScripts(client);
 * await callScript(client, 'renew', ['owner:f'], ['replica-a', 5000]); // 1
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';

/** Every script, by its file name in `lua/` without `.lua`. */
export const SCRIPT_NAMES = ['renew', 'renew-many', 'release', 'exec-if', 'move-unless-present'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export const LUA_DIR = new URL('./lua/', import.meta.url);

export interface LuaScript {
  name: ScriptName;
  /** The ioredis command it is registered as: the file name in camelCase. */
  command: string;
  lua: string;
  /** Keys per call; null: the caller passes them (the header lists a range). */
  numberOfKeys: number | null;
}

/** What a script's header says: one line each for KEYS, ARGV and the return value. */
export interface LuaHeader {
  summary: string;
  keys: string[];
  argv: string[];
  returns: string;
  numberOfKeys: number | null;
}

/** `KEYS[1]`, `KEYS[2..n]`, `ARGV[2..]`, or the bare word (then: `none`). */
const ENTRY = /^(KEYS|ARGV)(?:\[(\d+)(\.\.(?:n|\d+)?)?\])?\s{2,}(\S.*)$/;
const RETURNS = /^Returns\s{2,}(\S.*)$/;

/**
 * Reads a script's header (a `--[[ ... ]]` block at the top); throws naming what is
 * missing or malformed.
 */
export function parseHeader(file: string, text: string): LuaHeader {
  const fail = (why: string) => new Error(`${file}: ${why}`);
  const m = /^--\[\[\n([\s\S]*?)\n\]\]\n/.exec(text);
  if (!m) throw fail("does not open with a '--[[ ... ]]' header");
  const lines = m[1]!.split('\n').map((l) => l.trim());
  const blank = lines.indexOf('');
  if (blank <= 0) throw fail('the header does not start with a summary followed by a blank line');
  const summary = lines.slice(0, blank).join(' ');
  const keys: Array<{ index: number; range: boolean }> = [];
  const argv: string[] = [];
  const keyLines: string[] = [];
  let returns: string | null = null;
  let argvNone = false;
  for (const line of lines.slice(blank + 1)) {
    const r = RETURNS.exec(line);
    if (r) {
      returns = r[1]!;
      continue;
    }
    const e = ENTRY.exec(line);
    if (!e) continue; // continuation of the entry above
    const [, kind, index, range] = e;
    if (index === undefined) {
      if (kind === 'KEYS' || e[4] !== 'none') throw fail(`'${line}': name the index (${kind}[1]) or write '${kind}  none'`);
      argvNone = true;
    } else if (kind === 'KEYS') {
      keys.push({ index: Number(index), range: range !== undefined });
      keyLines.push(line);
    } else argv.push(line);
  }
  if (keys.length === 0) throw fail('the header names no KEYS');
  if (argv.length === 0 && !argvNone) throw fail("the header names no ARGV (write 'ARGV  none' when there are none)");
  if (returns === null) throw fail("the header does not say what the script returns ('Returns  ...')");
  keys.forEach((k, i) => {
    if (k.index !== i + 1) throw fail(`KEYS are not listed in order from KEYS[1] (found KEYS[${k.index}] at position ${i + 1})`);
    if (k.range && i !== keys.length - 1) throw fail('only the last KEYS entry may be a range');
  });
  const variable = keys.some((k) => k.range);
  return { summary, keys: keyLines, argv, returns, numberOfKeys: variable ? null : keys.length };
}

let loaded: Map<ScriptName, LuaScript> | null = null;

/** Reads every script (once per process); throws when one is missing or its header is malformed. */
export function loadScripts(): Map<ScriptName, LuaScript> {
  if (loaded) return loaded;
  const scripts = new Map<ScriptName, LuaScript>();
  for (const name of SCRIPT_NAMES) {
    const url = new URL(`${name}.lua`, LUA_DIR);
    let lua: string;
    try {
      lua = readFileSync(url, 'utf8');
    } catch (err) {
      throw new Error(
        `redlet's Lua script ${url.pathname} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): the build copies src/store/lua/ next to the compiled store`,
        { cause: err },
      );
    }
    const { numberOfKeys } = parseHeader(`${name}.lua`, lua);
    scripts.set(name, { name, command: name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), lua, numberOfKeys });
  }
  loaded = scripts;
  return scripts;
}

/** The `.lua` files present in `lua/` (the test checks each is a known, well-formed script). */
export function luaFiles(): string[] {
  return readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));
}

/** Registers every script on a client (Redis, Sentinel or Cluster); its pipelines inherit them. */
export function defineScripts(client: Redis | Cluster): void {
  for (const s of loadScripts().values()) {
    // A built-in command of the same name would be silently replaced.
    if (s.command in client) throw new Error(`Lua script '${s.name}' would shadow the client's own '${s.command}' command`);
    client.defineCommand(s.command, s.numberOfKeys === null ? { lua: s.lua } : { lua: s.lua, numberOfKeys: s.numberOfKeys });
  }
}

type ScriptArg = string | Buffer | number;

/**
 * Calls a script registered with defineScripts: sends it (a client; resolves to its
 * reply) or queues it (a pipeline or MULTI; returns the pipeline).
 */
export function callScript(target: Redis | Cluster, name: ScriptName, keys: string[], args: ScriptArg[]): Promise<unknown>;
export function callScript(target: ChainableCommander, name: ScriptName, keys: string[], args: ScriptArg[]): ChainableCommander;
export function callScript(
  target: Redis | Cluster | ChainableCommander,
  name: ScriptName,
  keys: string[],
  args: ScriptArg[],
): Promise<unknown> | ChainableCommander {
  const s = loadScripts().get(name)!;
  if (s.numberOfKeys !== null && keys.length !== s.numberOfKeys)
    throw new Error(`Lua script '${name}' takes ${s.numberOfKeys} key(s), got ${keys.length}`);
  const fn = (target as unknown as Record<string, unknown>)[s.command];
  if (typeof fn !== 'function') throw new Error(`Lua script '${name}' is not registered on this client (defineScripts)`);
  const counted = s.numberOfKeys === null ? [keys.length, ...keys] : keys;
  return (fn as (...a: unknown[]) => Promise<unknown> | ChainableCommander).call(target, ...counted, ...args);
}
