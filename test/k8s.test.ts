// The Kubernetes manifests in k8s/, checked without a cluster: they parse, validate
// against the Kubernetes schemas and types, render with `kubectl kustomize`, and give
// redlet a complete configuration (every variable set is one redlet reads, everything
// a cluster install needs is set, mounted files are where the settings point).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderCodeConfigMaps } from '../scripts/build-k8s-configmaps.mjs';
import { loadConfig } from '../src/config.js';
import { ENV } from '../src/config-schema.js';
import { processEnvReads } from './helpers/env-names.js';
import {
  ROOT,
  containerEnv,
  find,
  kustomize,
  kustomizeWith,
  manifestFiles,
  mountedFiles,
  parseManifests,
  podSpec,
  typeCheck,
  validateSchema,
  type Container,
  type K8sObject,
} from './helpers/k8s.js';

const K8S = join(ROOT, 'k8s');
const CONFIG_TS = join(ROOT, 'src', 'config.ts');
/** What cli.ts allows past the drain before it gives up (STOP_MARGIN_MS). */
const STOP_MARGIN_MS = 5000;
/** An operator's own token, in place of the example in secret.yaml. */
const OWN_TOKEN = 'an-operators-own-token-0123456789';

const COLLECTOR = join(K8S, 'components', 'collector');

let rendered: K8sObject[];
/** The install with the opt-in collector component. */
let withCollector: K8sObject[];
beforeAll(() => {
  rendered = kustomize(K8S);
  withCollector = kustomizeWith(K8S, [COLLECTOR]);
});

/** Every environment variable redlet reads: config.ts reads each through its schema in config-schema.ts. */
function knownEnvNames(): Set<string> {
  return new Set(Object.keys(ENV));
}

/** Workloads running the redlet image, with their redlet containers. */
function redletContainers(objects: K8sObject[]): Array<{ workload: K8sObject; container: Container }> {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet')
    .flatMap((workload) => podSpec(workload).containers.map((container) => ({ workload, container })))
    .filter(({ container }) => container.image.split(':')[0]!.split('/').pop() === 'redlet');
}

function configFor(
  kind: string,
  name: string,
  overrides: Record<string, string | undefined> = {},
  objects = kind === 'DaemonSet' ? withCollector : rendered,
) {
  const workload = find(objects, kind, name);
  const pod = podSpec(workload);
  const container = pod.containers[0]!;
  const env: Record<string, string> = { ...containerEnv(objects, container) };
  // The shipped secrets are examples redlet refuses (test/k8s-start.test.ts); an
  // operator's own values stand in for them.
  for (const [k, v] of Object.entries({ REDLET_API_TOKEN: OWN_TOKEN, REDIS_PASSWORD: 'an-operators-own-password' }))
    if (k in env) env[k] = v;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const files = mountedFiles(objects, pod, container);
  const config = loadConfig(
    env,
    (p) => files.has(p),
    (p) => {
      const f = files.get(p);
      if (!f) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return f.toString('utf8');
    },
  );
  return { workload, pod, container, env, files, config };
}

describe('k8s/ files', () => {
  it('every file parses, and every object validates against the Kubernetes schemas and the API types (no unknown fields)', async () => {
    const all: Array<{ object: K8sObject; where: string }> = [];
    const componentFiles = readdirSync(join(K8S, 'components')).flatMap((c) =>
      manifestFiles(join(K8S, 'components', c)).map((f) => join('components', c, f)),
    );
    for (const file of [...manifestFiles(K8S), ...componentFiles]) {
      const objects = parseManifests(readFileSync(join(K8S, file), 'utf8'), file);
      expect(objects.length, `${file} holds no object`).toBeGreaterThan(0);
      for (const object of objects) {
        expect(object.metadata?.name, `${file}: an object without metadata.name`).toBeTruthy();
        const where = `${file} ${object.kind} ${object.metadata.name}`;
        await expect(validateSchema(object), where).resolves.toBeUndefined();
        all.push({ object, where });
      }
    }
    expect(typeCheck(all)).toEqual([]);
  });

  it('the type check does catch a misspelt field (so the check above means something)', () => {
    const deployment = find(rendered, 'Deployment', 'redlet');
    const broken = structuredClone(deployment) as K8sObject;
    (podSpec(broken).containers[0]!.securityContext as Record<string, unknown>).readOnlyRootFS = true;
    const messages = typeCheck([{ object: broken, where: 'broken' }]);
    expect(messages.join('\n')).toMatch(/readOnlyRootFS/);
  });

  it('kustomization.yaml lists every manifest file, and `kubectl kustomize k8s` renders all their objects', () => {
    const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
      images?: Array<{ name: string }>;
    };
    expect([...kustomization.resources].sort()).toEqual(manifestFiles(K8S));
    const fromFiles = manifestFiles(K8S)
      .flatMap((f) => parseManifests(readFileSync(join(K8S, f), 'utf8'), f))
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .sort();
    expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(fromFiles);
    // `kustomize edit set image redlet=...` must reach every container running redlet.
    expect(kustomization.images?.map((i) => i.name)).toContain('redlet');
    expect(redletContainers(rendered).length).toBe(1);
    expect(redletContainers(withCollector).length).toBe(2);
  });

  it('the code ConfigMaps are exactly what scripts/build-k8s-configmaps.mjs makes from examples/ (run it after changing an example)', async () => {
    for (const { path, text } of await renderCodeConfigMaps()) {
      const committed = readFileSync(join(ROOT, path), 'utf8');
      expect(committed === text, `${path} is out of date: run \`node scripts/build-k8s-configmaps.mjs\``).toBe(true);
    }
  });

  it('every ConfigMap and Secret fits the 1 MiB object limit', () => {
    for (const o of rendered.filter((x) => x.kind === 'ConfigMap' || x.kind === 'Secret')) {
      expect(JSON.stringify(o).length, `${o.kind} ${o.metadata.name}`).toBeLessThan(1024 * 1024);
    }
  });
});

describe('environment of the redlet containers', () => {
  it('every variable the manifests set is one redlet reads (one with a schema in src/config-schema.ts)', () => {
    const known = knownEnvNames();
    expect(known.size).toBeGreaterThan(10);
    for (const { workload, container } of redletContainers(withCollector)) {
      const unknown = Object.keys(containerEnv(withCollector, container)).filter((k) => !known.has(k));
      expect(unknown, `${workload.kind} ${workload.metadata.name}: variables redlet does not read`).toEqual([]);
    }
  });

  it('every name loadConfig actually reads has a schema (a check on the list above)', () => {
    const known = knownEnvNames();
    const seen = new Set<string>();
    const traced = (env: Record<string, string>) =>
      new Proxy(env, {
        get(target, key) {
          if (typeof key !== 'string') return undefined;
          seen.add(key);
          return target[key];
        },
      });
    const envs = [
      {},
      ...redletContainers(withCollector).map(({ container }) => containerEnv(withCollector, container)),
      { REDIS_URL: 'redis://x:1', FUNCTION_ZIP: '/f.zip', REDLET_API_TOKEN_FILE: '/t' },
    ];
    for (const env of envs) {
      try {
        loadConfig(
          traced(env),
          () => true,
          () => 'a-token-of-sixteen-chars',
        );
      } catch {
        // Only the names read matter here.
      }
    }
    expect([...seen].filter((k) => !known.has(k))).toEqual([]);
  });

  it('outside src/config.ts no module reads a setting from process.env, so the names above are all of them', () => {
    // Not settings: what redlet hands to its own child processes (sandbox workers get
    // a minimal environment, and their limits from the parent).
    const passedToChildren = new Set(['PATH', 'NODE_ENV', 'REDLET_SANDBOX_LIMITS']);
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') && p !== CONFIG_TS)
          offenders.push(
            ...processEnvReads(p)
              .filter((r) => !passedToChildren.has(r.name))
              .map((r) => `${r.where} reads ${r.name}: read it in src/config.ts`),
          );
      }
    };
    for (const d of ['src', 'sandbox', 'ui']) walk(join(ROOT, d));
    expect(offenders).toEqual([]);
  });

  it('the Deployment gives redlet a complete cluster configuration: Redis, the course function, its keys, the token', () => {
    const { config, env, files, container, pod } = configFor('Deployment', 'redlet');
    expect(config.warnings).toEqual([]);
    // Redis: the Service of the optional redis.yaml, on its port.
    expect(config.redis?.host).toBe('redis');
    const redisService = find(rendered, 'Service', config.redis!.host) as unknown as { spec: { ports: Array<{ port: number }> } };
    expect(redisService.spec.ports.map((p) => p.port)).toContain(config.redis!.port);
    // The course's function: the `usermodule` ConfigMap mounted as a directory (no
    // subPath, so that edits reach the running pod), FUNCTION_FILE in it, watched.
    expect(config.compat).not.toBeNull();
    expect(config.compat!.file).toBe('/opt/usermodule/usermodule.js');
    const mount = container.volumeMounts!.find((m) => m.mountPath === '/opt/usermodule')!;
    expect(mount.subPath).toBeUndefined();
    expect(pod.volumes!.find((v) => v.name === mount.name)?.configMap?.name).toBe('usermodule');
    expect(files.get('/opt/usermodule/usermodule.js')!.toString()).toContain('export function handler');
    expect(config.watchFiles).toBe(true);
    // No ConfigMap is mounted with subPath: such a mount never changes in a running pod.
    expect(container.volumeMounts!.filter((m) => m.subPath !== undefined)).toEqual([]);
    expect(config.compat!.inputKey).toBe('metrics');
    expect(config.compat!.handler).toBe('handler');
    expect(config.compat!.periodSeconds).toBe(5);
    // REDIS_OUTPUT_KEY comes from the `outputkey` ConfigMap, course style.
    const outputRef = container.env!.find((e) => e.name === 'REDIS_OUTPUT_KEY')!.valueFrom!.configMapKeyRef!;
    expect(outputRef).toEqual({ name: 'outputkey', key: 'REDIS_OUTPUT_KEY' });
    expect(config.compat!.outputKey).toMatch(/-proj3-output$/);
    // The API token from the Secret (so the API is not open to every caller in the cluster).
    expect(container.env!.find((e) => e.name === 'REDLET_API_TOKEN')!.valueFrom!.secretKeyRef!.name).toBe('redlet-api-token');
    expect(config.auth.token).toBe(env.REDLET_API_TOKEN);
    expect(config.auth.token).toBe(OWN_TOKEN);
    // Redis' password from the `redis-auth` Secret, in the URL redlet connects with.
    expect(container.env!.find((e) => e.name === 'REDIS_PASSWORD')!.valueFrom!.secretKeyRef!.name).toBe('redis-auth');
    expect(config.redis!.url).toContain(`:${env.REDIS_PASSWORD}@`);
    // No embedded store, no demo, no collector inside the runtime pod.
    expect(config.demo).toBe(false);
    expect(config.collector.enabled).toBe(false);
    // HTTP on the container's http port.
    expect(container.ports!.find((p) => p.name === 'http')!.containerPort).toBe(config.http.port);
  });

  it('switching the Deployment to the ZIP example takes FUNCTION_ZIP instead of FUNCTION_FILE, and the ZIP is mounted there', () => {
    const text = readFileSync(join(K8S, 'redlet-config.yaml'), 'utf8');
    const documented = /#\s*FUNCTION_ZIP:\s*(\S+)/.exec(text)?.[1];
    expect(documented, 'redlet-config.yaml should show the FUNCTION_ZIP line to use').toBeTruthy();
    const { config, files } = configFor('Deployment', 'redlet', { FUNCTION_FILE: undefined, FUNCTION_ZIP: documented });
    expect(config.compat!.zipPath).toBe(documented);
    expect(config.compat!.file).toBeNull();
    expect(config.compat!.name).toBe('zip-stats');
    expect(files.get(documented!)!.subarray(0, 2).toString()).toBe('PK');
  });

  it('the collector is not installed by default: it is the opt-in component components/collector', () => {
    expect(rendered.filter((o) => o.kind === 'DaemonSet')).toEqual([]);
    expect(find(withCollector, 'DaemonSet', 'redlet-collector')).toBeDefined();
  });

  it('the collector DaemonSet runs `redlet collect` against the same Redis, writing the key the function reads', () => {
    const runtime = configFor('Deployment', 'redlet').config;
    const { config, container, pod } = configFor('DaemonSet', 'redlet-collector');
    expect(container.args).toEqual(['collect']);
    expect(config.redis).toEqual(runtime.redis);
    expect(config.compat).toBeNull();
    expect(config.collector.key).toBe(runtime.compat!.inputKey);
    // The node's network counters and process count, as the course agent reports them.
    expect(pod.hostNetwork).toBe(true);
    expect(pod.hostPID).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
  });
});

describe('workloads', () => {
  const workloads = () => withCollector.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet');

  it('every container is locked down and has resource requests and limits', () => {
    for (const w of workloads()) {
      const pod = podSpec(w);
      expect(pod.securityContext?.runAsNonRoot, `${w.metadata.name}: pod runAsNonRoot`).toBe(true);
      expect(pod.enableServiceLinks, `${w.metadata.name}: service links would inject REDIS_PORT=tcp://...`).toBe(false);
      expect(pod.automountServiceAccountToken, `${w.metadata.name}: no API access needed`).toBe(false);
      for (const c of pod.containers) {
        const where = `${w.kind} ${w.metadata.name} container ${c.name}`;
        expect(c.securityContext, where).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        for (const r of ['cpu', 'memory']) {
          expect(c.resources?.requests?.[r], `${where}: requests.${r}`).toBeTruthy();
          expect(c.resources?.limits?.[r], `${where}: limits.${r}`).toBeTruthy();
        }
      }
    }
  });

  it('redlet containers write only to /tmp (an emptyDir) and start through the image entrypoint with --no-node-snapshot', () => {
    for (const { workload, container } of redletContainers(withCollector)) {
      const pod = podSpec(workload);
      const writable = (container.volumeMounts ?? []).filter((m) => !m.readOnly);
      expect(
        writable.map((m) => m.mountPath),
        workload.metadata.name,
      ).toEqual(['/tmp']);
      expect(pod.volumes!.find((v) => v.name === writable[0]!.name)?.emptyDir, workload.metadata.name).toBeDefined();
      // No `command`: the image's ENTRYPOINT (node --no-node-snapshot ..., test/dockerfile.test.ts) runs.
      if (container.command) expect(container.command).toContain('--no-node-snapshot');
      else expect(container.command).toBeUndefined();
    }
  });

  it('the redlet Deployment has liveness on /healthz, readiness on /readyz, and a grace period longer than the drain', () => {
    const { config, container, pod, workload } = configFor('Deployment', 'redlet');
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.args).toEqual(['start']);
    expect(config.drainMs).toBeGreaterThan(0);
    expect(Math.max(config.drainMs, config.shutdownDelayMs) + STOP_MARGIN_MS).toBeLessThan(
      (pod.terminationGracePeriodSeconds ?? 30) * 1000,
    );
    // Replicas share functions through leases: a rolling update never leaves none running.
    const spec = (
      workload as unknown as { spec: { replicas: number; strategy: { type: string; rollingUpdate?: { maxUnavailable: number } } } }
    ).spec;
    expect(spec.replicas).toBeGreaterThanOrEqual(1);
    expect(spec.strategy.type).toBe('RollingUpdate');
    expect(spec.strategy.rollingUpdate?.maxUnavailable).toBe(0);
    expect(config.cluster).toMatchObject({ leaseMs: 5000 });
  });

  it('the Service exposes the dashboard and API inside the cluster (ClusterIP) on the pods of the redlet Deployment', () => {
    const service = find(rendered, 'Service', 'redlet') as unknown as {
      spec: { type: string; selector: Record<string, string>; ports: Array<{ port: number; targetPort: string | number }> };
    };
    const deployment = find(rendered, 'Deployment', 'redlet') as unknown as {
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    expect(service.spec.type).toBe('ClusterIP');
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports[0]!.targetPort).toBe('http');
  });
});
