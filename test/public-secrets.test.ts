// The list of published secret values (src/public-secrets.ts) is complete: every token
// or password value written out in the manifests, overlays, docs and examples (what
// people copy) is on it, so redlet refuses each of them at start. Tests' own tokens are
// not published values and are not listed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPublicSecret, PUBLIC_SECRETS } from '../src/public-secrets.js';
import { ROOT, kustomize, valuesOf } from './helpers/k8s.js';

function files(dir: string, keep: (p: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (keep(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Literal values next to a token or password name; `$VAR`, `$(cmd)`, `<...>` and `...` are placeholders. */
function writtenSecrets(text: string): string[] {
  const re =
    /(?:REDLET_API_TOKEN|REDIS_PASSWORD|REDISCLI_AUTH|requirepass|TOKEN|Bearer|--token|--password|-a)(?:\s*[:=]\s*|\s+)["']?([^\s"'`]{8,})/g;
  return [...text.matchAll(re)].map((m) => m[1]!).filter((v) => !/^[$<]|\.\.\.|^\{|^\(/.test(v) && /\d|-/.test(v) && !/^[A-Z_]+$/.test(v));
}

describe('published secret values', () => {
  it('every Secret value in the rendered manifests is a published example, refused at start', () => {
    const secrets = kustomize(join(ROOT, 'k8s')).filter((o) => o.kind === 'Secret');
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets)
      for (const [k, v] of Object.entries(valuesOf(s))) expect(isPublicSecret(v), `Secret ${s.metadata.name} ${k}`).toBe(true);
  });

  it('every token or password written out in k8s/, the docs and the examples is on the list', () => {
    const sources = [
      ...files(join(ROOT, 'k8s'), (p) => /\.ya?ml$/.test(p)),
      ...files(ROOT, (p) => p.endsWith('.md') && !relative(ROOT, p).startsWith('test')),
      ...files(join(ROOT, 'examples'), (p) => /\.(js|ts|py|json|md|ya?ml)$/.test(p)),
    ];
    expect(sources.length).toBeGreaterThan(5);
    const unlisted = sources.flatMap((f) =>
      writtenSecrets(readFileSync(f, 'utf8'))
        .filter((v) => !isPublicSecret(v))
        .map((v) => `${relative(ROOT, f)}: ${v}`),
    );
    expect(unlisted, 'add these to src/public-secrets.ts (or write a placeholder)').toEqual([]);
  });

  it('the scan finds what it looks for (so the check above means something)', () => {
    expect(writtenSecrets('REDLET_API_TOKEN: REPLACE-ME-example-token-not-secret')).toEqual(['REPLACE-ME-example-token-not-secret']);
    expect(writtenSecrets('curl -H "Authorization: Bearer 0123456789abcdef"')).toEqual(['0123456789abcdef']);
    expect(writtenSecrets('--from-literal=REDLET_API_TOKEN="$(openssl rand -hex 32)"')).toEqual([]);
    expect(PUBLIC_SECRETS.length).toBeGreaterThanOrEqual(2);
  });
});
