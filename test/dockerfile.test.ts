// The Dockerfile and .dockerignore, read as text (no base image can be pulled here): a
// compiler stage building isolated-vm from source against the base image's own Node
// headers, a base image pinned by digest, OCI labels, a slim Node LTS runtime stage
// without package managers, production dependencies only, a numeric non-root user, node
// itself as PID 1 with --no-node-snapshot, a context without local builds.
// test/image.redis.test.ts replays the file and runs the result.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerignore, execForm, last, parseCopy, parseDockerfile, stageEnv, stageLabels } from './helpers/dockerfile.js';
import { ROOT } from './helpers/k8s.js';

const df = parseDockerfile(join(ROOT, 'Dockerfile'));
const build = df.stages[0]!;
const runtime = df.stages.at(-1)!;
const runs = (stage: typeof build) => stage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);

describe('Dockerfile', () => {
  it('has a build stage with python3, make and g++ for isolated-vm, and a separate runtime stage', () => {
    expect(df.stages.length).toBe(2);
    expect(build.name).toBe('build');
    const apt = runs(build).find((r) => r.startsWith('apt-get'))!;
    for (const tool of ['python3', 'make', 'g++']) expect(apt.split(/\s+/)).toContain(tool);
    expect(runs(build)).toContain('npm ci --no-audit --no-fund');
    expect(runs(build)).toContain('npm run build');
  });

  it("builds isolated-vm from source against the base image's own Node headers: no prebuilt binary, no header download", () => {
    const ci = build.instructions.findIndex((i) => i.op === 'RUN' && /^npm ci\b/.test(i.args));
    const envBefore = Object.assign(
      {},
      ...build.instructions
        .slice(0, ci)
        .filter((i) => i.op === 'ENV')
        .map((i) => stageEnv({ ...build, instructions: [i] })),
    ) as Record<string, string>;
    // prebuild-install (isolated-vm's install script) skips its download for this package name.
    expect(envBefore.npm_config_build_from_source).toBe('isolated-vm');
    const isolatedVm = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'isolated-vm', 'package.json'), 'utf8')) as {
      name: string;
      scripts: { install: string };
    };
    expect(isolatedVm.name).toBe(envBefore.npm_config_build_from_source);
    expect(isolatedVm.scripts.install).toMatch(/^prebuild-install \|\| .*node-gyp rebuild/);
    // node-gyp uses the headers installed with the image's node (/usr/local/include/node) instead of downloading them.
    expect(envBefore.npm_config_nodedir).toBe('/usr/local');
    expect(runs(build).join('\n')).not.toMatch(/curl|wget|--ignore-scripts/);
  });

  it('has no unpinned `# syntax=` line, and its base image is pinned by digest, with the command to update it written next to it', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const syntax = /^#\s*syntax\s*=\s*(\S+)/m.exec(text);
    if (syntax) expect(syntax[1]).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(df.args.NODE_IMAGE).toMatch(/^node:\d+-\w+-slim@sha256:[0-9a-f]{64}$/);
    for (const stage of df.stages) expect(stage.from, `stage ${stage.name}`).toBe(df.args.NODE_IMAGE);
    const tag = df.args.NODE_IMAGE!.split('@')[0]!;
    expect(text).toContain(`docker buildx imagetools inspect ${tag} --format '{{json .Manifest.Digest}}'`);
  });

  it('labels the image the OCI way, with the package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      description: string;
      license: string;
    };
    expect(stageLabels(runtime, df.args)).toMatchObject({
      'org.opencontainers.image.title': pkg.name,
      'org.opencontainers.image.description': pkg.description,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.base.name': df.args.NODE_IMAGE!.split('@')[0],
    });
  });

  it('runs on a slim Node LTS image of the same Debian as the build (the addon links against its glibc)', () => {
    const image = /^node:(\d+)-(\w+)-slim@sha256:[0-9a-f]{64}$/.exec(runtime.from);
    expect(image, `runtime FROM ${runtime.from}`).not.toBeNull();
    const major = Number(image![1]);
    expect(major % 2, 'an LTS line is even-numbered').toBe(0);
    expect(major).toBeGreaterThanOrEqual(20);
    // isolated-vm 5.x supports Node 18 to 24 (6.x needs 22, 7.x needs 24).
    expect(major).toBeLessThanOrEqual(24);
    const isolatedVm = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'isolated-vm', 'package.json'), 'utf8')) as { version: string };
    expect(isolatedVm.version).toMatch(/^5\.0\./);
    expect(build.from).toBe(runtime.from);
  });

  it('ships production dependencies only: the build stage prunes dev dependencies, the runtime stage installs nothing', () => {
    const buildRuns = runs(build);
    const prune = buildRuns.findIndex((r) => /^npm prune --omit=dev\b/.test(r));
    expect(prune, 'npm prune --omit=dev in the build stage').toBeGreaterThan(buildRuns.indexOf('npm run build'));
    // The one RUN of the runtime stage removes the package managers the base image ships.
    expect(runs(runtime)).toHaveLength(1);
    const removed = runs(runtime)[0]!
      .replace(/^rm -rf /, '')
      .split(/\s+/);
    expect(removed.sort()).toEqual([
      '/usr/local/bin/corepack',
      '/usr/local/bin/npm',
      '/usr/local/bin/npx',
      '/usr/local/lib/node_modules/corepack',
      '/usr/local/lib/node_modules/npm',
    ]);
    const copies = runtime.instructions.filter((i) => i.op === 'COPY').map(parseCopy);
    const modules = copies.find((c) => c.sources.some((s) => s.endsWith('node_modules')))!;
    expect(modules.from).toBe('build');
  });

  it('runs as a numeric non-root user, with NODE_ENV=production and HOME=/tmp (the only writable place)', () => {
    const user = last(runtime, 'USER')?.args ?? '';
    expect(user).toMatch(/^\d+:\d+$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    expect(stageEnv(runtime)).toMatchObject({ NODE_ENV: 'production', HOME: '/tmp' });
  });

  it('starts node itself (no npm, no shell: signals reach redlet) with --no-node-snapshot, on the compiled entry point', () => {
    const entrypoint = execForm(last(runtime, 'ENTRYPOINT')!);
    const cmd = execForm(last(runtime, 'CMD')!);
    expect(entrypoint[0]).toBe('node');
    expect(entrypoint).toContain('--no-node-snapshot');
    expect(entrypoint.at(-1)).toBe('dist/ui/entry.js');
    expect(existsSync(join(ROOT, 'ui', 'entry.ts'))).toBe(true);
    expect(cmd).toEqual(['start']);
    expect(last(runtime, 'WORKDIR')?.args).toBe('/app');
    expect(last(runtime, 'EXPOSE')?.args).toBe('8080');
  });

  it('npm start and the installed bin use --no-node-snapshot too', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toMatch(/^node --no-node-snapshot /);
    expect(readFileSync(join(ROOT, 'bin', 'redlet.js'), 'utf8').split('\n')[0]).toContain('--no-node-snapshot');
  });
});

describe('.dockerignore', () => {
  const ignored = dockerignore(join(ROOT, '.dockerignore'));

  it('keeps local builds, VCS data and env files out of the context', () => {
    for (const p of [
      'node_modules',
      'node_modules/isolated-vm/out/isolated_vm.node',
      'dist/ui/entry.js',
      '.git/HEAD',
      'examples/zip-stats/node_modules/x',
      '.env',
      'src/config.test.ts',
    ]) {
      expect(ignored(p), p).toBe(true);
    }
  });

  it('lets in every file the Dockerfile copies from the context', () => {
    for (const stage of df.stages) {
      for (const copy of stage.instructions.filter((i) => i.op === 'COPY').map(parseCopy)) {
        if (copy.from !== null) continue;
        for (const src of copy.sources) {
          expect(existsSync(join(ROOT, src)), `COPY ${src}: not in the repository`).toBe(true);
          expect(ignored(src), `COPY ${src}: excluded by .dockerignore`).toBe(false);
        }
      }
    }
    for (const p of ['src/config.ts', 'sandbox/guest/prelude.js', 'src/store/lua/renew.lua', 'ui/entry.ts', 'package-lock.json'])
      expect(ignored(p), p).toBe(false);
  });
});
