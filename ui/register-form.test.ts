// The register form checks in the browser what the runtime checks: its name pattern and
// number bounds come from the settings' rules, and the pattern is one a browser accepts.
import { describe, expect, it } from 'vitest';
import { LIMITS, nameSchema } from '../src/function-definition.js';
import { RegisterForm } from './register-form.js';

const DEFAULTS = {
  handler: 'handler',
  inputKey: 'in',
  outputKey: null,
  trigger: 'poll',
  period: 5,
  invokeOn: 'change',
  memoryMb: 64,
  timeoutMs: 1000,
} as const;
const ACCESS = { canWrite: true, canRead: true, tokenConfigured: false, signedIn: false, loopback: true, csrf: 'c' };
const html = String(RegisterForm({ access: ACCESS, defaults: DEFAULTS }));

function attr(input: string, name: string): string {
  const tag = new RegExp(`<input[^>]*name="${input}"[^>]*>`).exec(html)?.[0] ?? '';
  return new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1] ?? '';
}

describe('register form', () => {
  it("has a name pattern a browser compiles (with the 'v' flag) and that agrees with the name rule", () => {
    const pattern = attr('name', 'pattern').replace(/&#39;/g, "'");
    // How browsers compile the pattern attribute: anchored, with the v flag.
    const browser = new RegExp(`^(?:${pattern})$`, 'v');
    for (const name of ['a', 'my-fn', 'a--b', '0x1', 'fn-', '-fn', 'Bad', 'a_b', '', 'a.b']) {
      expect(browser.test(name), name).toBe(nameSchema.safeParse(name).success);
    }
    expect(attr('name', 'maxlength')).toBe(String(LIMITS.nameLength));
  });

  it('bounds the number fields by the settings limits', () => {
    for (const field of ['period', 'memoryMb', 'timeoutMs'] as const) {
      expect([attr(field, 'min'), attr(field, 'max')]).toEqual([String(LIMITS[field].min), String(LIMITS[field].max)]);
    }
  });
});
