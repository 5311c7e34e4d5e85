/**
 * Secret values that are published with redlet (the examples in k8s/secret.yaml and
 * the docs), and so are secret to no one. `src/config.ts` refuses to start with any
 * of them as the API token or the Redis password. This is the one list:
 * test/public-secrets.test.ts fails when the repository's manifests or docs show a
 * token or password value that is not in it.
 *
 * @example
 * isPublicSecret('REPLACE-ME-example-token-not-secret'); // true
 */
export const PUBLIC_SECRETS: readonly string[] = [
  // k8s/secret.yaml
  'REPLACE-ME-example-token-not-secret',
  'REPLACE-ME-example-redis-password',
];

/** What to tell a person who used one: how to make a value of their own. */
export const MAKE_A_SECRET = 'openssl rand -hex 32';

/** True for a published value, or an obvious edit of one (still starting `REPLACE-ME`). */
export function isPublicSecret(value: string): boolean {
  const v = value.trim();
  return PUBLIC_SECRETS.includes(v) || /^replace[-_ ]?me\b/i.test(v);
}
