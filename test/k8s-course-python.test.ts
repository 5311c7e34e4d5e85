// k8s/examples/course-python: the course's Deployment and ConfigMaps with only the
// image swapped. Checked without a cluster: it renders and validates, it is the
// course's shape, the configuration redlet derives from it is the course's, and the
// mounted handler runs in redlet's sandbox.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { loadConfig } from '../src/config.js';
import { ROOT, containerEnv, find, kustomize, mountedFiles, podSpec, validateSchema } from './helpers/k8s.js';

const DIR = join(ROOT, 'k8s', 'examples', 'course-python');
const objects = kustomize(DIR);
const deployment = find(objects, 'Deployment', 'serverless-redis');
const pod = podSpec(deployment);
const container = pod.containers[0]!;

let box: InProcessSandbox | null = null;
afterAll(async () => {
  await box?.close();
});

describe('k8s/examples/course-python', () => {
  it('renders and validates against the Kubernetes schemas', async () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/outputkey',
      'ConfigMap/pyfile',
      'Deployment/serverless-redis',
    ]);
    for (const o of objects) await validateSchema(o);
  });

  it("is the course's Deployment with only the image swapped", () => {
    const d = deployment as unknown as { metadata: { labels: Record<string, string> }; spec: { replicas: number } };
    expect(d.metadata.labels).toEqual({ app: 'serverless-redis' });
    expect(d.spec.replicas).toBe(1);
    expect(pod.containers).toHaveLength(1);
    expect(container).toMatchObject({
      name: 'serverless-redis',
      imagePullPolicy: 'Always',
      resources: { requests: { cpu: '100m', memory: '300Mi' } },
    });
    expect(container.image.split(':')[0]).toBe('redlet');
    expect(container.volumeMounts).toEqual([{ name: 'pyfile', mountPath: '/opt/usermodule.py', subPath: 'pyfile' }]);
    expect(Object.keys(containerEnv(objects, container)).sort()).toEqual([
      'REDIS_HOST',
      'REDIS_INPUT_KEY',
      'REDIS_OUTPUT_KEY',
      'REDIS_PORT',
    ]);
  });

  it('gives redlet the course configuration, and the mounted handler runs', { timeout: 120_000 }, async () => {
    const files = mountedFiles(objects, pod, container);
    const code = files.get('/opt/usermodule.py')!.toString('utf8');
    expect(code).toBe(readFileSync(join(ROOT, 'examples', 'course-reference.py'), 'utf8'));
    const config = loadConfig(containerEnv(objects, container), (p) => files.has(p));
    expect(config.redis).toMatchObject({ host: 'redis', port: 6379 });
    expect(config.compat).toMatchObject({
      file: '/opt/usermodule.py',
      inputKey: 'metrics',
      outputKey: 'student-proj3-output',
      periodSeconds: 5,
      handler: 'handler',
      memoryMb: 128,
    });

    box = new InProcessSandbox();
    await box.load('usermodule', {
      source: { kind: 'file', filename: 'usermodule.py', code },
      handler: config.compat!.handler,
      memoryMb: config.compat!.memoryMb,
      timeoutMs: config.compat!.timeoutMs,
      env: '{}',
      name: 'usermodule',
    });
    const metrics = readFileSync(join(ROOT, 'test', 'fixtures', 'metrics-example.json'), 'utf8');
    const r = await box.invoke('usermodule', {
      input: metrics,
      context: {
        host: 'redis',
        port: 6379,
        input_key: 'metrics',
        output_key: 'student-proj3-output',
        function_getmtime: '2024-11-20 14:00:00',
        last_execution: null,
        function_name: 'usermodule',
      },
      maxOutputBytes: 1 << 20,
    });
    expect(r.error).toBeUndefined();
    expect(JSON.parse(r.output!)['avg-util-cpu3-60sec']).toBe(57.1);
  });
});
