// What an operator reviews before running k8s/ in production, checked on the rendered
// manifests (`kubectl kustomize`, as test/k8s.test.ts): Redis locked down (password,
// NetworkPolicies that select the right pods), no public API by default, versioned
// images, the optional collector, disruption budgets and spread, Redis memory.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import {
  ROOT,
  containerEnv,
  find,
  kustomize,
  kustomizeEdited,
  kustomizeWith,
  podSpec,
  typeCheck,
  validateSchema,
  workloadsSelected,
  type K8sObject,
  type LabelSelector,
} from './helpers/k8s.js';

const K8S = join(ROOT, 'k8s');
const COMPONENTS = join(K8S, 'components');

/** k8s/kustomization.yaml with its commented `components:` entries for `names` turned on, as docs/kubernetes.md says. */
function optIn(text: string, names: string[]): string {
  let out = text.replace(/^# components:$/m, 'components:');
  for (const n of names) out = out.replace(new RegExp(`^#(\\s+- components/${n}\\b)`, 'm'), ' $1');
  return out;
}

let rendered: K8sObject[];
beforeAll(() => {
  rendered = kustomize(K8S);
});

interface NetworkPolicy {
  spec: {
    podSelector: LabelSelector;
    policyTypes: string[];
    ingress?: Array<{
      from?: Array<{ podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: object }>;
      ports?: Array<{ protocol?: string; port: number | string }>;
    }>;
  };
}

const policy = (objects: K8sObject[], name: string) => find(objects, 'NetworkPolicy', name) as unknown as NetworkPolicy;

/** The container port a NetworkPolicy port (a number or a port name) means on a workload's pods. */
function containerPort(objects: K8sObject[], workload: string, port: number | string): number | undefined {
  const [kind, name] = workload.split('/') as [string, string];
  const ports = podSpec(find(objects, kind, name)).containers.flatMap((c) => c.ports ?? []);
  return typeof port === 'number'
    ? ports.find((p) => p.containerPort === port)?.containerPort
    : ports.find((p) => p.name === port)?.containerPort;
}

describe('Redis is reachable only by redlet, with a password', () => {
  it('the Redis NetworkPolicy selects the Redis pods and admits redlet pods and the collector only, on the Redis port', () => {
    const all = [...rendered, ...kustomizeCollector()];
    const p = policy(rendered, 'redis');
    expect(workloadsSelected(all, p.spec.podSelector)).toEqual(['Deployment/redis']);
    expect(p.spec.policyTypes).toEqual(['Ingress']);
    expect(p.spec.ingress).toHaveLength(1);
    const rule = p.spec.ingress![0]!;
    // Only pod selectors of this namespace: no ipBlock, no other namespace, no "from anywhere".
    expect(rule.from?.length).toBeGreaterThan(0);
    for (const from of rule.from!) expect(Object.keys(from)).toEqual(['podSelector']);
    const admitted = [...new Set(rule.from!.flatMap((f) => workloadsSelected(all, f.podSelector!)))].sort();
    expect(admitted).toEqual(['DaemonSet/redlet-collector', 'Deployment/redlet']);
    expect(rule.ports).toHaveLength(1);
    expect(containerPort(all, 'Deployment/redis', rule.ports![0]!.port)).toBe(6379);
  });

  it("redlet's NetworkPolicy selects the redlet pods and opens their HTTP port only", () => {
    const p = policy(rendered, 'redlet');
    expect(workloadsSelected(rendered, p.spec.podSelector)).toEqual(['Deployment/redlet']);
    expect(p.spec.policyTypes).toEqual(['Ingress']);
    expect(p.spec.ingress).toHaveLength(1);
    const ports = p.spec.ingress![0]!.ports!;
    expect(ports).toHaveLength(1);
    const http = containerPort(rendered, 'Deployment/redlet', ports[0]!.port);
    const cfg = loadConfig(
      {
        ...containerEnv(rendered, podSpec(find(rendered, 'Deployment', 'redlet')).containers[0]!),
        REDLET_API_TOKEN: undefined,
        REDIS_PASSWORD: undefined,
      },
      () => false,
    );
    expect(http).toBe(cfg.http.port);
  });

  it('Redis runs with requirepass from the `redis-auth` Secret, and redlet and the collector send that same password', () => {
    const redis = podSpec(find(rendered, 'Deployment', 'redis')).containers[0]!;
    const args = (redis as { args?: string[] }).args ?? [];
    expect(args[args.indexOf('--requirepass') + 1]).toBe('$(REDIS_PASSWORD)');
    const ref = (c: typeof redis, name: string) => c.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    expect(ref(redis, 'REDIS_PASSWORD')).toEqual({ name: 'redis-auth', key: 'REDIS_PASSWORD' });
    // The readiness probe's redis-cli authenticates through REDISCLI_AUTH.
    expect(ref(redis, 'REDISCLI_AUTH')).toEqual({ name: 'redis-auth', key: 'REDIS_PASSWORD' });
    const all = [...rendered, ...kustomizeCollector()];
    for (const [kind, name] of [
      ['Deployment', 'redlet'],
      ['DaemonSet', 'redlet-collector'],
    ] as const) {
      const c = podSpec(find(all, kind, name)).containers[0]!;
      expect(ref(c, 'REDIS_PASSWORD'), `${kind} ${name}`).toEqual({ name: 'redis-auth', key: 'REDIS_PASSWORD' });
    }
  });
});

/** The collector's objects, from its opt-in component. */
function kustomizeCollector(): K8sObject[] {
  return kustomizeWith(K8S, [join(COMPONENTS, 'collector')]).filter((o) => o.kind === 'DaemonSet');
}

describe('the API is not public by default', () => {
  const service = (objects: K8sObject[]) =>
    find(objects, 'Service', 'redlet') as unknown as { spec: { type: string; ports: Array<{ port: number; nodePort?: number }> } };

  it('the Service is ClusterIP by default, and a NodePort with the course-nodeport component turned on in kustomization.yaml', () => {
    expect(service(rendered).spec.type).toBe('ClusterIP');
    const course = kustomizeEdited(K8S, (k) => optIn(k, ['course-nodeport']));
    expect(service(course).spec.type).toBe('NodePort');
    expect(service(course).spec.ports.map((p) => p.port)).toEqual([8080]);
    // Nothing else changes.
    const names = (os: K8sObject[]) => os.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names(course)).toEqual(names(rendered));
  });

  it('the components render valid objects (Kubernetes schemas and API types)', async () => {
    const all = kustomizeWith(
      K8S,
      readdirSync(COMPONENTS).map((c) => join(COMPONENTS, c)),
    );
    expect(all.map((o) => o.kind)).toContain('DaemonSet');
    const checked = all.map((object) => ({ object, where: `${object.kind} ${object.metadata.name}` }));
    for (const { object, where } of checked) await expect(validateSchema(object), where).resolves.toBeUndefined();
    expect(typeCheck(checked)).toEqual([]);
  });
});

describe('images', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const images = (objects: K8sObject[]) =>
    objects
      .filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind))
      .flatMap((o) => podSpec(o).containers.map((c) => ({ where: `${o.kind}/${o.metadata.name}`, image: c.image })));
  const tagOf = (image: string) => /^[^@]*?:([^/:@]+)(?:@.*)?$/.exec(image)?.[1] ?? null;

  it('no container runs `latest` or an untagged image; redlet and the collector run the package version', () => {
    const all = kustomizeWith(
      K8S,
      readdirSync(COMPONENTS).map((c) => join(COMPONENTS, c)),
    );
    const seen = images(all);
    expect(seen.map((s) => s.where)).toContain('DaemonSet/redlet-collector');
    for (const { where, image } of seen) {
      expect(tagOf(image), `${where}: ${image} has no tag`).not.toBeNull();
      expect(tagOf(image), `${where}: ${image}`).not.toBe('latest');
    }
    const redlet = seen.filter((s) => s.image.split(':')[0]!.split('/').pop() === 'redlet');
    expect(redlet.map((s) => s.where).sort()).toEqual(['DaemonSet/redlet-collector', 'Deployment/redlet']);
    for (const { where, image } of redlet) expect(image, where).toBe(`redlet:${pkg.version}`);
    // The files themselves too (each works alone with `kubectl apply -f`).
    for (const f of ['deployment.yaml', join('components', 'collector', 'collector-daemonset.yaml')]) {
      const text = readFileSync(join(K8S, f), 'utf8');
      expect(text, f).not.toMatch(/:latest\b/);
      expect(text, f).toContain(`image: redlet:${pkg.version}`);
    }
  });

  it('pointing `images:` at a registry (what `kustomize edit set image` writes) reaches redlet and the collector', () => {
    const moved = kustomizeEdited(K8S, (k) =>
      optIn(k, ['collector']).replace(
        /(- name: redlet\n\s+newName: )redlet(\n\s+newTag: )"[^"]*"/,
        '$1registry.example.com/you/redlet$2"0.2.0"',
      ),
    );
    const redlet = images(moved).filter((s) => s.image.includes('redlet'));
    expect(redlet.map((s) => s.where).sort()).toEqual(['DaemonSet/redlet-collector', 'Deployment/redlet']);
    for (const { where, image } of redlet) expect(image, where).toBe('registry.example.com/you/redlet:0.2.0');
  });
});

describe('replicas survive disruptions', () => {
  it('a PodDisruptionBudget covers exactly the redlet pods, one at a time, never blocking a drain of a single replica', () => {
    const budgets = rendered.filter((o) => o.kind === 'PodDisruptionBudget') as unknown as Array<{
      metadata: { name: string };
      spec: { selector: LabelSelector; maxUnavailable?: number; minAvailable?: number };
    }>;
    expect(budgets.map((b) => b.metadata.name)).toEqual(['redlet']);
    const pdb = budgets[0]!;
    expect(workloadsSelected(rendered, pdb.spec.selector)).toEqual(['Deployment/redlet']);
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeUndefined();
  });

  it('redlet pods spread over nodes (and zones) without refusing to schedule on a single node', () => {
    const pod = podSpec(find(rendered, 'Deployment', 'redlet')) as {
      topologySpreadConstraints?: Array<{
        topologyKey: string;
        maxSkew: number;
        whenUnsatisfiable: string;
        labelSelector: LabelSelector;
        matchLabelKeys?: string[];
      }>;
    };
    const spread = pod.topologySpreadConstraints ?? [];
    expect(spread.map((c) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of spread) {
      expect(c.maxSkew).toBe(1);
      expect(c.whenUnsatisfiable).toBe('ScheduleAnyway');
      expect(workloadsSelected(rendered, c.labelSelector)).toEqual(['Deployment/redlet']);
      expect(c.matchLabelKeys).toEqual(['pod-template-hash']);
    }
  });

  it('on SIGTERM, HTTP stays open for a shutdown delay while endpoints are removed, within the grace period', () => {
    const deployment = find(rendered, 'Deployment', 'redlet');
    const pod = podSpec(deployment);
    const env = containerEnv(rendered, pod.containers[0]!);
    const config = loadConfig(
      { ...env, REDLET_API_TOKEN: undefined, REDIS_PASSWORD: undefined },
      () => true,
      () => '',
    );
    // Endpoint removal takes a few seconds to reach every node's proxy and load balancer.
    expect(config.shutdownDelayMs).toBeGreaterThanOrEqual(3000);
    expect(Math.max(config.shutdownDelayMs, config.drainMs) + 5000).toBeLessThan(pod.terminationGracePeriodSeconds! * 1000);
  });
});

describe('Redis resources', () => {
  /** Redis sizes (`100mb` = 100 MiB, `100m` = 10^8 bytes) and Kubernetes quantities (`256Mi`), in bytes. */
  const redisBytes = (v: string) => {
    const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(v)!;
    const unit = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
    return Number(m[1]) * unit;
  };
  const k8sBytes = (v: string) => {
    const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(v)!;
    return Number(m[1]) * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[m[2] as 'Ki'] ?? 1);
  };

  it('maxmemory leaves room under the container limit for the AOF rewrite fork (copy-on-write may double it) and Redis itself', () => {
    const redis = podSpec(find(rendered, 'Deployment', 'redis')).containers[0]! as {
      args?: string[];
      resources?: { limits?: Record<string, string> };
    };
    const args = redis.args ?? [];
    const at = (flag: string) => args[args.indexOf(flag) + 1]!;
    expect(at('--appendonly')).toBe('yes');
    expect(at('--maxmemory-policy')).toBe('noeviction');
    const maxmemory = redisBytes(at('--maxmemory'));
    const limit = k8sBytes(redis.resources!.limits!.memory!);
    expect(maxmemory).toBeGreaterThan(0);
    expect(2 * maxmemory + 32 * 1024 ** 2).toBeLessThanOrEqual(limit);
  });

  it("runs as the official alpine image's redis user and group (uid 999, gid 1000)", () => {
    const pod = podSpec(find(rendered, 'Deployment', 'redis'));
    expect(pod.containers[0]!.image).toMatch(/^redis:[\d.]+-alpine$/);
    expect(pod.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 1000, fsGroup: 1000 });
  });
});
