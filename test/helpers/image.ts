/**
 * The Dockerfile replayed without Docker (no engine runs on these machines), so tests
 * can run the image's exact start command on what the image would hold.
 *
 * `buildImage()` reads the Dockerfile and, stage by stage: copies the build context
 * (the repository filtered by .dockerignore), follows WORKDIR, ENV and COPY (from the
 * context or `--from` an earlier stage), and runs each RUN with `sh -c`, with two
 * substitutions, both because they would only repeat what this checkout already did:
 * - `apt-get ...` (the compiler toolchain) is skipped, and so is the runtime stage's
 *   `rm -rf /usr/local/...` of npm, npx and corepack (it would delete this machine's);
 * - `npm ci` becomes a copy of this checkout's node_modules, installed from the same
 *   package-lock.json: a fresh `npm ci` compiles isolated-vm for ~2 minutes. Every later
 *   RUN (the build, `npm prune --omit=dev`) runs for real on that copy.
 *
 * `runInImage()` then starts ENTRYPOINT + CMD like a locked-down container: as PID 1 of
 * its own PID namespace, in a private mount namespace where `/` is read-only (only /tmp stays writable, and the image
 * itself is read-only), files "mounted" under /opt on a read-only tmpfs, as the
 * Dockerfile's USER with no new privileges and no capabilities, with only the image's
 * ENV plus the given variables, from WORKDIR. It needs root (unshare, mount, setpriv):
 * without it, it fails with a message saying so.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { dockerignore, execForm, last, parseCopy, parseDockerfile, parseEnv } from './dockerfile.js';
import { ROOT } from './k8s.js';

export interface BuiltImage {
  /** Temporary folder holding the context and every stage's filesystem. */
  dir: string;
  /** Host path of the final stage's root. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: { uid: number; gid: number };
  entrypoint: string[];
  cmd: string[];
  /** What was done instead of a RUN, for the test's own messages. */
  substituted: string[];
  remove(): void;
}

/** The PATH of the official node images. */
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function copyContext(target: string): void {
  const ignored = dockerignore(join(ROOT, '.dockerignore'));
  const walk = (rel: string) => {
    for (const e of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (ignored(r)) continue;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) cpSync(join(ROOT, r), join(target, r));
    }
  };
  walk('');
}

function sh(cmd: string, cwd: string, env: Record<string, string>): void {
  try {
    execFileSync('sh', ['-c', cmd], {
      cwd,
      env: { PATH: process.env.PATH ?? IMAGE_PATH, HOME: tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    throw new Error(`Dockerfile RUN ${cmd} failed (exit ${e.status}):\n${e.stdout}\n${e.stderr}`, { cause: err });
  }
}

/** Replays the Dockerfile; see the module comment for what is substituted. */
export function buildImage(): BuiltImage {
  const df = parseDockerfile(join(ROOT, 'Dockerfile'));
  const dir = mkdtempSync(join(tmpdir(), 'redlet-image-'));
  try {
    return replay(df, dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function replay(df: ReturnType<typeof parseDockerfile>, dir: string): BuiltImage {
  chmodSync(dir, 0o755);
  const context = join(dir, 'context');
  copyContext(context);
  const stageRoots = new Map<string, string>();
  const substituted: string[] = [];
  let final: Omit<BuiltImage, 'dir' | 'substituted' | 'remove'> | null = null;

  df.stages.forEach((stage, i) => {
    const root = join(dir, `stage-${i}`);
    mkdirSync(root, { recursive: true });
    if (stage.name) stageRoots.set(stage.name, root);
    let workdir = '/';
    let env: Record<string, string> = {};
    const host = (p: string) => join(root, posix.resolve(workdir, p));
    for (const ins of stage.instructions) {
      switch (ins.op) {
        case 'WORKDIR':
          workdir = posix.resolve(workdir, ins.args);
          mkdirSync(host('.'), { recursive: true });
          break;
        case 'ENV':
          env = { ...env, ...parseEnv(ins.args) };
          break;
        case 'COPY': {
          const { from, sources, dest } = parseCopy(ins);
          const fromRoot = from === null ? null : stageRoots.get(from);
          if (from !== null && !fromRoot) throw new Error(`Dockerfile:${ins.line}: no earlier stage named ${from}`);
          const intoDir = dest.endsWith('/') || sources.length > 1;
          for (const src of sources) {
            const source = fromRoot ? join(fromRoot, posix.resolve('/', src)) : join(context, src);
            try {
              statSync(source);
            } catch {
              throw new Error(
                `Dockerfile:${ins.line}: COPY source ${src} does not exist${fromRoot ? ` in stage ${from}` : ' in the build context (.dockerignore?)'}`,
              );
            }
            const target = intoDir && !statSync(source).isDirectory() ? join(host(dest), posix.basename(src)) : host(dest);
            mkdirSync(dirname(target), { recursive: true });
            cpSync(source, target, { recursive: true, verbatimSymlinks: true });
          }
          break;
        }
        case 'RUN': {
          const cwd = host('.');
          if (/^apt-get\b/.test(ins.args)) {
            substituted.push(`skipped: RUN ${ins.args}`);
          } else if (/^rm -rf(?: \/usr\/local\/(?:bin|lib\/node_modules)\/\w+)+$/.test(ins.args)) {
            // Removes the base image's npm, npx and corepack; the replay runs this machine's node (never touch its files).
            substituted.push(`skipped: RUN ${ins.args}`);
          } else if (/^npm ci\b/.test(ins.args)) {
            // The folder itself, not a symlink to it (a checkout may link a shared one):
            // npm would otherwise replace it and install, and build, everything again.
            cpSync(realpathSync(join(ROOT, 'node_modules')), join(cwd, 'node_modules'), { recursive: true, verbatimSymlinks: true });
            substituted.push(`RUN ${ins.args}: copied this checkout's node_modules`);
            if (/--omit[= ]dev/.test(ins.args)) sh('npm prune --omit=dev --no-audit --no-fund', cwd, env);
          } else {
            sh(ins.args, cwd, env);
          }
          break;
        }
        case 'USER':
        case 'EXPOSE':
        case 'ENTRYPOINT':
        case 'CMD':
        case 'ARG':
        case 'LABEL':
          break;
        default:
          throw new Error(`Dockerfile:${ins.line}: ${ins.op} is not replayed by test/helpers/image.ts`);
      }
    }
    const user = last(stage, 'USER')?.args ?? '0';
    const [uid = '', gid = uid] = user.split(':');
    if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid))
      throw new Error(`Dockerfile: USER ${user} must be numeric (uid:gid) so runAsNonRoot can verify it`);
    const ep = last(stage, 'ENTRYPOINT');
    const cmd = last(stage, 'CMD');
    final = {
      root,
      workdir,
      env,
      user: { uid: Number(uid), gid: Number(gid) },
      entrypoint: ep ? execForm(ep) : [],
      cmd: cmd ? execForm(cmd) : [],
    };
  });
  if (!final) throw new Error('Dockerfile: no stage');
  return {
    ...(final as Omit<BuiltImage, 'dir' | 'substituted' | 'remove'>),
    dir,
    substituted,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RunOptions {
  /** Replaces ENTRYPOINT (like `command:` in a pod spec); tests of the sandbox itself use it. */
  entrypoint?: string[];
  /** Replaces CMD (like `args:` in a pod spec). */
  args?: string[];
  /** Added to the image's ENV (like a pod's env). */
  env?: Record<string, string>;
  /** Files the pod would mount, all under /opt (e.g. /opt/usermodule.js). */
  files?: Map<string, Buffer>;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Container {
  /** `unshare`, which exits with the container's exit code; signals to it are NOT forwarded. */
  process: ChildProcess;
  /** Signals the container's PID 1 (what `kubectl delete pod` / `docker stop` do). */
  signal(signal: NodeJS.Signals): Promise<void>;
}

/** The host PID of the process unshare forked (PID 1 of the new PID namespace). */
async function pid1(unsharePid: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim();
      if (children) return Number(children.split(/\s+/)[0]);
    } catch {
      // not there yet, or already gone
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`unshare (pid ${unsharePid}) started no child`);
}

/** Starts the image's ENTRYPOINT + CMD as a locked-down container would run (see the module comment). */
export function runInImage(image: BuiltImage, opts: RunOptions = {}): Container {
  if (process.getuid?.() !== 0)
    throw new Error('running the image needs root here (unshare --mount, mount, setpriv); run the tests as root, as .ci/run does');
  const staging = mkdtempSync(join(image.dir, 'mounts-'));
  chmodSync(staging, 0o755);
  for (const [path, content] of opts.files ?? []) {
    if (!path.startsWith('/opt/')) throw new Error(`runInImage mounts files under /opt only (got ${path})`);
    const target = join(staging, path.slice('/opt/'.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content, { mode: 0o644 });
  }
  const argv = [...(opts.entrypoint ?? image.entrypoint), ...(opts.args ?? (opts.entrypoint ? [] : image.cmd))];
  const script = [
    'set -e',
    'mount --make-rprivate /',
    // /tmp stays writable (the pod's emptyDir); everything else becomes read-only.
    'mount --bind /tmp /tmp',
    `mount --bind ${q(image.root)} ${q(image.root)}`,
    `mount -o remount,bind,ro ${q(image.root)}`,
    'mount -t tmpfs -o mode=755 tmpfs /opt',
    `cp -a ${q(staging)}/. /opt/`,
    'mount -o remount,ro /opt',
    'mount -o remount,bind,ro /',
    `cd ${q(join(image.root, image.workdir))}`,
    `exec setpriv --reuid=${image.user.uid} --regid=${image.user.gid} --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all ${argv.map(q).join(' ')}`,
  ].join('\n');
  // A PID namespace of its own: node is PID 1, as in a container, so a signal it has no
  // handler for is ignored, not fatal (the kernel's rule for a namespace's init).
  const child = spawn('unshare', ['--mount', '--pid', '--fork', '--mount-proc', 'sh', '-c', script], {
    env: { PATH: IMAGE_PATH, ...image.env, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const inner = pid1(child.pid!);
  inner.catch(() => {});
  return {
    process: child,
    signal: async (signal) => {
      process.kill(await inner, signal);
    },
  };
}
