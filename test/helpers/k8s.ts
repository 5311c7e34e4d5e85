/**
 * Reading and checking the Kubernetes manifests without a cluster: parse k8s/, render
 * it with `kubectl kustomize`, validate objects against the Kubernetes schemas
 * (kubernetes-models) AND against its TypeScript types (which, unlike the schemas,
 * reject unknown fields such as a misspelt `readOnlyRootFS`), and work out the
 * environment a container would get from its env, envFrom, ConfigMaps and Secrets.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

/** Every object of a multi-document YAML text; a YAML error names the file. */
export function parseManifests(text: string, file: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const v = doc.toJS() as K8sObject | null;
    if (v === null) continue;
    out.push(v);
  }
  return out;
}

/** The manifest files of a folder (everything YAML but kustomization.yaml). */
export function manifestFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort();
}

/** `kubectl kustomize <dir>`; fails loudly when kubectl is missing (never skips). */
export function kustomize(dir: string): K8sObject[] {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        'kubectl is not installed: this check renders k8s/ with `kubectl kustomize`; install kubectl (e.g. apt-get install kubectl)',
        { cause: err },
      );
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
  return parseManifests(text, `kubectl kustomize ${dir}`);
}

/**
 * Renders `base` with kustomize components added (e.g. `k8s/components/collector`), the
 * way an operator's own kustomization would: a kustomization in a temporary folder
 * whose paths are relative (kustomize refuses absolute ones).
 */
export function kustomizeWith(base: string, components: string[] = []): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'redlet-kustomize-'));
  try {
    const lines = ['resources:', `  - ${relative(dir, base)}`];
    if (components.length) lines.push('components:', ...components.map((c) => `  - ${relative(dir, c)}`));
    writeFileSync(join(dir, 'kustomization.yaml'), `${lines.join('\n')}\n`);
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Renders a copy of `dir` (a kustomization folder) whose kustomization.yaml `edit` has
 * changed: what an operator's edit of k8s/kustomization.yaml would render.
 */
export function kustomizeEdited(dir: string, edit: (kustomization: string) => string): K8sObject[] {
  const copy = mkdtempSync(join(tmpdir(), 'redlet-kustomize-'));
  try {
    cpSync(dir, copy, { recursive: true });
    const file = join(copy, 'kustomization.yaml');
    const before = readFileSync(file, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error('kustomizeEdited: the edit changed nothing');
    writeFileSync(file, after);
    return kustomize(copy);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Whether a label selector (`matchLabels`, `matchExpressions` In/NotIn/Exists/DoesNotExist) selects these labels. */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const ok =
      e.operator === 'In'
        ? has && e.values!.includes(labels[e.key]!)
        : e.operator === 'NotIn'
          ? !has || !e.values!.includes(labels[e.key]!)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : (() => {
                  throw new Error(`unknown selector operator ${e.operator}`);
                })();
    if (!ok) return false;
  }
  return true;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** The workloads (Deployments, DaemonSets, StatefulSets) whose pod template labels `selector` selects. */
export function workloadsSelected(objects: K8sObject[], selector: LabelSelector): string[] {
  return objects
    .filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind))
    .filter((o) =>
      selects(
        selector,
        (o as unknown as { spec: { template: { metadata: { labels?: Record<string, string> } } } }).spec.template.metadata.labels ?? {},
      ),
    )
    .map((o) => `${o.kind}/${o.metadata.name}`)
    .sort();
}

function modelPath(o: K8sObject): string {
  return `kubernetes-models/${o.apiVersion}/${o.kind}`;
}

/** Validates with the kubernetes-models class of the object's kind (its JSON schema). */
export async function validateSchema(o: K8sObject): Promise<void> {
  if (!/^[a-z0-9.]*\/?v\d+\w*$/.test(o.apiVersion) || !/^[A-Z]\w+$/.test(o.kind))
    throw new Error(`not a Kubernetes object: ${o.apiVersion} ${o.kind}`);
  const file = join(ROOT, 'node_modules', `${modelPath(o)}.mjs`);
  if (!existsSync(file)) throw new Error(`kubernetes-models has no ${o.apiVersion} ${o.kind}`);
  const mod = (await import(modelPath(o))) as Record<string, new (d: unknown) => { validate(): void }>;
  const Model = mod[o.kind];
  if (!Model) throw new Error(`kubernetes-models/${o.apiVersion}/${o.kind} exports no ${o.kind}`);
  new Model(o).validate();
}

/**
 * Type-checks objects as object literals of kubernetes-models' interfaces: excess
 * property checks catch unknown fields at any depth. Returns TypeScript's messages.
 */
export function typeCheck(objects: Array<{ object: K8sObject; where: string }>): string[] {
  const virtual = join(ROOT, 'test', '__k8s_manifests__.ts');
  const lines: string[] = [];
  objects.forEach(({ object, where }, i) => {
    lines.push(`import type { I${object.kind} as T${i} } from '${modelPath(object)}';`);
    lines.push(`// ${where.replace(/\n/g, ' ')}`);
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(object, null, 2)};`);
  });
  const text = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === virtual ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === virtual || fileExists(name);
  const program = ts.createProgram([virtual], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return msg;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    // Name the object the message is about: the nearest `// where` comment above.
    const above = text
      .split('\n')
      .slice(0, line + 1)
      .reverse()
      .find((l) => l.startsWith('// '));
    return `${above?.slice(3) ?? '?'}: ${msg}`;
  });
}

type Container = {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } };
  }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
};

export type PodSpec = {
  containers: Container[];
  volumes?: Array<{
    name: string;
    configMap?: { name: string; items?: Array<{ key: string; path: string }> };
    secret?: { secretName: string };
    emptyDir?: object;
  }>;
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  enableServiceLinks?: boolean;
  [k: string]: unknown;
};

export type { Container };

/** The pod template of a Deployment or DaemonSet. */
export function podSpec(o: K8sObject): PodSpec {
  return (o as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} named '${name}' in the manifests`);
  return o;
}

/** A ConfigMap's or Secret's values as text (Secret `data` decoded from base64). */
export function valuesOf(o: K8sObject): Record<string, string> {
  const v = o as unknown as { data?: Record<string, string>; stringData?: Record<string, string> };
  if (o.kind === 'Secret') {
    const decoded = Object.fromEntries(Object.entries(v.data ?? {}).map(([k, b]) => [k, Buffer.from(b, 'base64').toString('utf8')]));
    return { ...decoded, ...(v.stringData ?? {}) };
  }
  return { ...(v.data ?? {}) };
}

/**
 * The environment a container starts with, as the kubelet builds it: envFrom first,
 * then env (which wins). Every referenced ConfigMap, Secret and key must exist.
 */
export function containerEnv(objects: K8sObject[], c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef
      ? find(objects, 'ConfigMap', from.configMapRef.name)
      : from.secretRef
        ? find(objects, 'Secret', from.secretRef.name)
        : null;
    if (!ref) throw new Error(`container ${c.name}: envFrom entry without configMapRef or secretRef`);
    for (const [k, v] of Object.entries(valuesOf(ref))) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = e.value;
      continue;
    }
    const cm = e.valueFrom?.configMapKeyRef;
    const sec = e.valueFrom?.secretKeyRef;
    const ref = cm ? find(objects, 'ConfigMap', cm.name) : sec ? find(objects, 'Secret', sec.name) : null;
    const key = (cm ?? sec)?.key;
    if (!ref || key === undefined)
      throw new Error(`container ${c.name}: env ${e.name} has neither value nor a ConfigMap/Secret key reference`);
    const values = valuesOf(ref);
    if (!(key in values))
      throw new Error(`container ${c.name}: env ${e.name} refers to key '${key}' that ${ref.kind} '${ref.metadata.name}' does not have`);
    env[e.name] = values[key]!;
  }
  return env;
}

/**
 * The files a container sees from ConfigMap volumes: mount path -> content. A
 * `subPath` mount is one key's file; a whole-volume mount holds every key.
 */
export function mountedFiles(objects: K8sObject[], pod: PodSpec, c: Container): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const m of c.volumeMounts ?? []) {
    const vol = pod.volumes?.find((v) => v.name === m.name);
    if (!vol) throw new Error(`container ${c.name}: volumeMount ${m.name} has no volume`);
    if (!vol.configMap) continue;
    const cm = find(objects, 'ConfigMap', vol.configMap.name) as unknown as {
      data?: Record<string, string>;
      binaryData?: Record<string, string>;
    };
    const keys = new Map<string, Buffer>();
    for (const [k, v] of Object.entries(cm.data ?? {})) keys.set(k, Buffer.from(v, 'utf8'));
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) keys.set(k, Buffer.from(v, 'base64'));
    const paths = vol.configMap.items ? new Map(vol.configMap.items.map((i) => [i.path, keys.get(i.key)!])) : keys;
    if (m.subPath !== undefined) {
      const content = paths.get(m.subPath);
      if (!content) throw new Error(`container ${c.name}: subPath '${m.subPath}' is not a key of ConfigMap '${vol.configMap.name}'`);
      files.set(m.mountPath, content);
    } else {
      for (const [p, content] of paths) files.set(`${m.mountPath.replace(/\/$/, '')}/${p}`, content);
    }
  }
  return files;
}

/** Reads a file as text, with the file name in the error. */
export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
