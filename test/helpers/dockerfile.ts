/**
 * Reads the Dockerfile and .dockerignore the way the tests need them: stages with
 * their instructions (continuations joined, comments dropped), ENV as a map,
 * ENTRYPOINT/CMD in exec form, and a .dockerignore matcher. Only the Dockerfile
 * features redlet's Dockerfile uses; anything else is an error, not a guess.
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string | null;
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

/** Parses a Dockerfile; `ARG`s before the first FROM are substituted into FROM lines. */
export function parseDockerfile(path: string): Dockerfile {
  const lines = readFileSync(path, 'utf8').split('\n');
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | null = null;
  lines.forEach((raw, i) => {
    if (pending === null && /^\s*(#|$)/.test(raw)) return;
    if (pending !== null && /^\s*#/.test(raw)) return;
    const text: string = pending ? `${pending.text} ${raw.trim()}` : raw.trim();
    const line = pending?.line ?? i + 1;
    if (text.endsWith('\\')) {
      pending = { text: text.slice(0, -1).trimEnd(), line };
      return;
    }
    pending = null;
    const m = /^(\S+)\s*(.*)$/.exec(text)!;
    instructions.push({ op: m[1]!.toUpperCase(), args: m[2]!, line });
  });
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile:${ins.line}: cannot read FROM ${ins.args}`);
      const from = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args[(a ?? b)!] ?? '');
      stages.push({ name: m[2] ?? null, from, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op !== 'ARG') throw new Error(`Dockerfile:${ins.line}: ${ins.op} before the first FROM`);
      const [k, v = ''] = ins.args.split('=');
      args[k!] = v;
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return { args, stages };
}

/** `ENV A=1 B=2` (unquoted values only, which is what we write). */
export function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of args.split(/\s+/)) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || /["']/.test(pair)) throw new Error(`ENV ${args}: write it as KEY=value pairs without quotes`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** ENTRYPOINT/CMD in exec form (a JSON array); shell form is refused (sh would be PID 1). */
export function execForm(ins: Instruction): string[] {
  let v: unknown;
  try {
    v = JSON.parse(ins.args);
  } catch {
    throw new Error(`Dockerfile:${ins.line}: ${ins.op} must use the exec form ["node", ...], not the shell form`);
  }
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new Error(`Dockerfile:${ins.line}: ${ins.op} is not an array of strings`);
  return v as string[];
}

/** The last instruction `op` of a stage, or undefined. */
export function last(stage: Stage, op: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.op === op).at(-1);
}

/** The image's environment: every ENV of the stage, in order. */
export function stageEnv(stage: Stage): Record<string, string> {
  return Object.assign({}, ...stage.instructions.filter((i) => i.op === 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>;
}

/**
 * The image's labels: every LABEL of the stage, `key=value` pairs (a value may be in
 * double quotes), `${NAME}` taken from the ARG defaults declared before the first FROM
 * (and re-declared in the stage, as Docker requires for them to be visible there).
 */
export function stageLabels(stage: Stage, args: Record<string, string>): Record<string, string> {
  const visible = new Set(stage.instructions.filter((i) => i.op === 'ARG').map((i) => i.args.split('=')[0]!));
  const out: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.op === 'LABEL')) {
    for (const m of ins.args.matchAll(/([\w.-]+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)) {
      out[m[1]!] = (m[2] ?? m[3]!).replace(/\$\{(\w+)\}/g, (whole, name: string) => {
        if (!visible.has(name)) throw new Error(`Dockerfile:${ins.line}: LABEL uses \${${name}} without an ARG ${name} in the stage`);
        return args[name] ?? whole;
      });
    }
  }
  return out;
}

/** `COPY [--from=x] [--chown=..] src... dest`. */
export function parseCopy(ins: Instruction): { from: string | null; sources: string[]; dest: string } {
  const words = ins.args.split(/\s+/);
  let from: string | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else if (!flag.startsWith('--chown=') && !flag.startsWith('--chmod='))
      throw new Error(`Dockerfile:${ins.line}: COPY flag ${flag} is not understood here`);
  }
  if (words.length < 2) throw new Error(`Dockerfile:${ins.line}: COPY needs a source and a destination`);
  return { from, dest: words.pop()!, sources: words };
}

/**
 * A .dockerignore matcher: `*` within a path segment, `**` across segments, `!`
 * re-includes, the last matching line wins, and a match on a folder covers its content.
 */
export function dockerignore(path: string): (relPath: string) => boolean {
  const rules = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const re = pattern
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '(?:.*)'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (relPath) => {
    let ignored = false;
    for (const r of rules) if (r.re.test(relPath)) ignored = !r.negate;
    return ignored;
  };
}
