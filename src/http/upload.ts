/**
 * Reads a register or update request into what the runtime takes: the function's
 * code (one file or a ZIP), its settings and flags. Two encodings carry the same
 * fields: `multipart/form-data` (file field `code`, text fields for the rest: what
 * `curl -F`, the CLI and the register form send) and `application/json` (`source` +
 * `filename`, or `zipBase64`). Shape is checked here (types, unknown fields, file
 * type, UTF-8, base64); the values of settings are checked by the runtime, in one
 * place, and the ZIP's contents by the sandbox when it loads the code.
 */
import type { Context } from 'hono';
import type { FunctionSource } from '../../sandbox/types.js';
import { CODE_EXTENSIONS } from '../code-files.js';
import { RedletError, type ErrorCode } from '../errors.js';
import { LIMITS, nameSchema, settingsSchema, type FunctionSettings } from '../function-definition.js';
import { parseJson } from '../json-text.js';
import { firstIssue, onOff } from '../schema-fields.js';
import type { RegisterInput, UpdateInput } from '../runtime/runtime.js';

/** A register or update request, read but not yet validated by the runtime. */
interface FunctionRequest {
  /** As sent (validated by the runtime); undefined when absent. */
  name: unknown;
  source: FunctionSource | null;
  settings: Partial<FunctionSettings>;
  resetEnv: boolean;
}

/** `create`: POST (code required); `update`: PUT (anything may be left out, `resetEnv` allowed). */
type UploadMode = 'create' | 'update';

type SettingField = keyof FunctionSettings;

/** The settings fields, named as in the API: those of settingsSchema. */
const SETTING_FIELDS = Object.keys(settingsSchema.shape) as SettingField[];

const JSON_FIELDS = new Set<string>(['name', 'source', 'filename', 'zipBase64', 'resetEnv', ...SETTING_FIELDS]);
const FORM_FIELDS = new Set<string>(['name', 'code', 'filename', 'resetEnv', ...SETTING_FIELDS]);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a new function from the body of `POST /api/functions` (or of the register
 * form's `POST /ui/functions`): the code is required; the name and settings are
 * checked by `runtime.register`.
 *
 * @example
 * const view = await runtime.register(await readRegisterRequest(c));
 */
export async function readRegisterRequest(c: Context): Promise<RegisterInput> {
  const req = await readFunctionRequest(c, 'create');
  if (req.name !== undefined && typeof req.name !== 'string')
    throw new RedletError('INVALID_NAME', 'name must be a string', { details: { field: 'name' } });
  // An absent name goes on to the runtime's check, which says the name is required.
  return { name: req.name as string, source: req.source!, settings: req.settings, origin: 'api' };
}

/**
 * Reads a change to the function `name` from the body of `PUT /api/functions/:name`:
 * anything may be left out but not everything; a name in the body must be `name`
 * (a function cannot be renamed).
 *
 * @example
 * const view = await runtime.update(name, await readUpdateRequest(c, name));
 */
export async function readUpdateRequest(c: Context, name: string): Promise<UpdateInput> {
  const req = await readFunctionRequest(c, 'update');
  if (req.name !== undefined && req.name !== name) {
    throw new RedletError(
      'NAME_MISMATCH',
      `the body names '${String(req.name)}' but the URL names '${name}'; a function cannot be renamed (register it under the new name and delete the old one)`,
      { details: { field: 'name' } },
    );
  }
  return { ...(req.source ? { source: req.source } : {}), settings: req.settings, resetEnv: req.resetEnv, origin: 'api' };
}

/** Parses either body (the two encodings of the module header) and checks the fields each mode needs. */
async function readFunctionRequest(c: Context, mode: UploadMode): Promise<FunctionRequest> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  let req: FunctionRequest;
  if (type === 'multipart/form-data' || type === 'application/x-www-form-urlencoded') req = await fromForm(c, mode);
  else if (type === 'application/json' || type.endsWith('+json')) req = fromJson(await readJsonBody(c), mode);
  else {
    throw new RedletError(
      'UNSUPPORTED_MEDIA_TYPE',
      `send the function as multipart/form-data (curl -F code=@handler.js -F name=avg ...) or as application/json ({"name", "source", "filename"} or {"name", "zipBase64"}); got ${type ? `'${type}'` : 'no Content-Type'}`,
    );
  }
  if (mode === 'create' && !req.source) {
    throw new RedletError(
      'CODE_MISSING',
      'no code: send a file in the multipart field "code" (curl -F code=@handler.js), or "source" (with "filename") or "zipBase64" in JSON',
      { details: { field: 'code' } },
    );
  }
  if (mode === 'update' && !req.source && Object.keys(req.settings).length === 0 && !req.resetEnv) {
    throw new RedletError(
      'NOTHING_TO_UPDATE',
      'the request changes nothing: send new code ("code", "source" or "zipBase64"), settings to change, or "resetEnv": true',
    );
  }
  return req;
}

/** The request body as JSON; 400 `INVALID_JSON` when it is not. An empty body reads as undefined. */
async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  return parseJson(text);
}

/** Most fields a form may carry; counted before parsing (parsing 900k fields blocks the event loop). */
const MAX_FORM_FIELDS = 64;

/**
 * Refuses (400 `INVALID_MULTIPART`) a form with more than MAX_FORM_FIELDS fields,
 * before anything parses it. Call it before `c.req.parseBody()`.
 */
export async function limitFormFields(c: Context): Promise<void> {
  const fields = countFormFields(Buffer.from(await c.req.arrayBuffer()), c.req.header('content-type') ?? '');
  if (fields > MAX_FORM_FIELDS)
    throw new RedletError('INVALID_MULTIPART', `the form has more than ${MAX_FORM_FIELDS} fields; send each field once`);
}

/** Counts the parts of a multipart body (or the pairs of a urlencoded one) without parsing it. */
function countFormFields(body: Buffer, contentType: string): number {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) return body.length === 0 ? 0 : body.toString('latin1').split('&').length;
  const marker = Buffer.from(`--${m[1] ?? m[2]}`);
  let n = 0;
  for (let at = body.indexOf(marker); at >= 0 && n <= MAX_FORM_FIELDS + 1; at = body.indexOf(marker, at + marker.length)) n++;
  return Math.max(0, n - 1);
}

function fromJson(body: unknown, mode: UploadMode): FunctionRequest {
  if (body === undefined) throw new RedletError('INVALID_JSON', 'the request body is empty; send a JSON object');
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new RedletError('INVALID_JSON', 'the request body must be a JSON object');
  const o = body as Record<string, unknown>;
  checkFields(Object.keys(o), JSON_FIELDS, mode);
  const settings: Partial<FunctionSettings> = {};
  for (const key of SETTING_FIELDS) {
    const v = o[key];
    if (v === undefined) continue;
    if (v === null && key === 'outputKey') settings.outputKey = null;
    else if (typeof v === 'string' || typeof v === 'number') setSetting(settings, key, typeof v === 'string' ? v.trim() : v);
    else throw invalidField(key, `${key} must be a ${isNumeric(key) ? 'number' : 'string'}${key === 'outputKey' ? ' or null' : ''}`);
  }
  if (o.resetEnv !== undefined && typeof o.resetEnv !== 'boolean') throw invalidField('resetEnv', 'resetEnv must be true or false');
  if (o.filename !== undefined && typeof o.filename !== 'string') throw invalidField('filename', 'filename must be a string');
  let source: FunctionSource | null = null;
  if (o.source !== undefined && o.zipBase64 !== undefined)
    throw invalidField('source', 'send either "source" (code text) or "zipBase64", not both');
  if (o.source !== undefined) {
    if (typeof o.source !== 'string') throw invalidField('source', 'source must be the code as a string; send a ZIP as "zipBase64"');
    const filename = checkedFilename((o.filename as string | undefined) ?? defaultFilename(o.name));
    if (kindOf(filename) !== 'file')
      throw invalidField(
        'filename',
        `filename '${filename}' must end in ${CODE_EXTENSIONS.join(', ')} for "source"; send a ZIP as "zipBase64"`,
        'UNSUPPORTED_FILE',
      );
    source = { kind: 'file', filename, code: nonEmpty(o.source, filename) };
  } else if (o.zipBase64 !== undefined) {
    if (typeof o.zipBase64 !== 'string') throw invalidField('zipBase64', 'zipBase64 must be a string of base64');
    const filename = checkedFilename((o.filename as string | undefined) ?? 'function.zip');
    if (kindOf(filename) !== 'zip')
      throw invalidField('filename', `filename '${filename}' must end in .zip for "zipBase64"`, 'UNSUPPORTED_FILE');
    source = { kind: 'zip', filename, data: decodeBase64(o.zipBase64) };
  } else if (o.filename !== undefined) {
    throw invalidField('filename', '"filename" names the code in "source" or "zipBase64", and neither was sent');
  }
  return { name: o.name, source, settings, resetEnv: o.resetEnv === true };
}

async function fromForm(c: Context, mode: UploadMode): Promise<FunctionRequest> {
  let form: Record<string, string | File | Array<string | File>>;
  await limitFormFields(c);
  try {
    form = await c.req.parseBody({ all: true });
  } catch (err) {
    throw new RedletError(
      'INVALID_MULTIPART',
      `the form data cannot be read (${(err as Error).message}); let your HTTP client build the multipart body (curl -F, FormData)`,
    );
  }
  checkFields(Object.keys(form), FORM_FIELDS, mode);
  const field = (key: string): string | File | undefined => {
    const v = form[key];
    if (Array.isArray(v)) throw invalidField(key, `the field "${key}" was sent ${v.length} times; send it once`);
    return v;
  };
  const text = (key: string): string | undefined => {
    const v = field(key);
    if (v instanceof File) throw invalidField(key, `the field "${key}" must be text, not a file`);
    return v?.trim();
  };
  const settings: Partial<FunctionSettings> = {};
  for (const key of SETTING_FIELDS) {
    const v = text(key);
    // An empty field means "not sent", except outputKey where it means "no output key".
    if (v === undefined || (v === '' && key !== 'outputKey')) continue;
    setSetting(settings, key, key === 'outputKey' && v === '' ? null : v);
  }
  const resetEnv = parseResetEnv(text('resetEnv'));
  const name = text('name');
  const code = field('code');
  let source: FunctionSource | null = null;
  if (typeof code === 'string') throw invalidField('code', 'the field "code" must be a file upload (curl -F code=@handler.js), not text');
  if (code) {
    const filename = checkedFilename(text('filename') || code.name || '');
    const bytes = new Uint8Array(await code.arrayBuffer());
    source =
      kindOf(filename) === 'zip'
        ? { kind: 'zip', filename, data: nonEmptyZip(bytes, filename) }
        : { kind: 'file', filename, code: decodeUtf8(bytes, filename) };
  } else if (text('filename')) {
    throw invalidField('filename', '"filename" names the uploaded file, and no file was sent in "code"');
  }
  return { name: name === '' ? undefined : name, source, settings, resetEnv };
}

function checkFields(keys: string[], allowed: Set<string>, mode: UploadMode): void {
  for (const key of keys) {
    if (key === 'resetEnv' && mode === 'create')
      throw invalidField(
        key,
        '"resetEnv" applies to updates (PUT /api/functions/:name); a new function starts with an empty context.env',
        'UNKNOWN_FIELD',
      );
    if (!allowed.has(key)) {
      throw invalidField(
        key,
        `unknown field "${key}"; expected ${[...allowed].filter((k) => mode === 'update' || k !== 'resetEnv').join(', ')}`,
        'UNKNOWN_FIELD',
      );
    }
  }
}

function setSetting(settings: Partial<FunctionSettings>, key: SettingField, value: string | number | null): void {
  // Values are checked (and numbers coerced) by validateSettings in the runtime.
  (settings as Record<string, unknown>)[key] = value;
}

/** A setting the schema reads as a number (what a JSON body must then send). */
function isNumeric(key: SettingField): boolean {
  return settingsSchema.shape[key].def.type === 'number';
}

const resetEnvFlag = onOff('resetEnv');

/** The form's `resetEnv`: absent or empty is false, else one of the on/off words. */
function parseResetEnv(v: string | undefined): boolean {
  if (v === undefined || v === '') return false;
  const r = resetEnvFlag.safeParse(v);
  if (!r.success) throw invalidField('resetEnv', firstIssue(r.error).message);
  return r.data;
}

function kindOf(filename: string): 'file' | 'zip' | null {
  const lower = filename.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  return CODE_EXTENSIONS.some((ext) => lower.endsWith(ext)) ? 'file' : null;
}

/** The base name, checked: the sandbox names the module after it and the pages show it. */
function checkedFilename(raw: string): string {
  const base = raw.replace(/\\/g, '/').split('/').pop()!.trim();
  if (base === '')
    throw invalidField(
      'filename',
      `the uploaded file has no name; name it with an extension: ${CODE_EXTENSIONS.join(', ')} or .zip`,
      'UNSUPPORTED_FILE',
    );
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (base.length > LIMITS.filenameLength || /[\u0000-\u001f]/.test(base))
    throw invalidField('filename', 'the file name is too long or contains control characters; rename the file');
  if (kindOf(base) === null) {
    throw invalidField(
      'filename',
      `'${base}' is not a supported file: upload a ${CODE_EXTENSIONS.join(', ')} file or a .zip of the function's folder`,
      'UNSUPPORTED_FILE',
    );
  }
  return base;
}

/** The file name of code sent as "source" without one: named after the function when its name is valid. */
function defaultFilename(name: unknown): string {
  return nameSchema.safeParse(name).success ? `${name as string}.js` : 'function.js';
}

function decodeUtf8(bytes: Uint8Array, filename: string): string {
  let code: string;
  try {
    code = utf8.decode(bytes);
  } catch {
    throw invalidField(
      'code',
      `'${filename}' is not UTF-8 text; save it as UTF-8 (or, if it is a ZIP, give it a .zip name)`,
      'CODE_NOT_UTF8',
    );
  }
  return nonEmpty(code, filename);
}

function nonEmpty(code: string, filename: string): string {
  if (code.trim() === '') throw invalidField('code', `'${filename}' is empty; it must export the handler function`, 'CODE_EMPTY');
  return code;
}

function nonEmptyZip(data: Uint8Array, filename: string): Uint8Array {
  if (data.length === 0) throw invalidField('code', `'${filename}' is empty`, 'CODE_EMPTY');
  return data;
}

function decodeBase64(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact === '') throw invalidField('zipBase64', 'zipBase64 is empty', 'CODE_EMPTY');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) {
    throw invalidField('zipBase64', 'zipBase64 is not valid base64 (e.g. base64 -w0 function.zip)', 'INVALID_BASE64');
  }
  // Node's decoder takes the standard and the URL-safe alphabets alike.
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

function invalidField(field: string, message: string, code: ErrorCode = 'INVALID_FIELD'): RedletError {
  return new RedletError(code, message, { details: { field } });
}
