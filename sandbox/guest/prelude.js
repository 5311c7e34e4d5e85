// @ts-check
// Guest side of the context bridge. This file is evaluated as a classic script inside
// each function's isolate, BEFORE the user's bundle, and is type-checked against the
// isolate's own globals (sandbox/guest/tsconfig.json: ES2022, no DOM, no Node).
//
// It returns an object of functions the host keeps as References; the host never hands
// any isolated-vm object to guest code. Everything crosses as strings and plain values.
// The built-ins it needs are captured now, so a function that later replaces
// `JSON.stringify` or `Array.prototype.push` can only confuse its own results.
(/** @param {{maxLogLines: number, maxLogLineChars: number, maxEnvBytes: number}} limits */
function prelude(limits) {
  'use strict';
  const g = globalThis;
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const now = Date.now;
  const DateCtor = Date;
  const StringCtor = String;
  const ObjectKeys = Object.keys;
  const isArray = Array.isArray;
  const call = Function.prototype.call;
  const push = call.bind(Array.prototype.push);
  // Everything below is called at run time, after user code may have replaced the
  // built-ins: use only what was captured here.
  /** @type {(s: string, start: number, end?: number) => string} */
  const sliceStr = call.bind(String.prototype.slice);
  /** @type {(s: string, i: number) => number} */
  const charCodeAt = call.bind(String.prototype.charCodeAt);
  /** @type {(proto: object, v: unknown) => boolean} */
  const isPrototypeOf = call.bind(Object.prototype.isPrototypeOf);
  /** @type {<T>(a: T[], f: (x: T) => boolean) => T[]} */
  const filter = call.bind(Array.prototype.filter);
  const ErrorProto = Error.prototype;
  const LEVELS = ['log', 'info', 'warn', 'error', 'debug'];

  /**
   * UTF-8 bytes of a string (caps are in bytes: a 3-byte character counts 3).
   * @param {string} str
   */
  function utf8Length(str) {
    let n = 0;
    for (let i = 0; i < str.length; i++) {
      const c = charCodeAt(str, i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length && (charCodeAt(str, i + 1) & 0xfc00) === 0xdc00) {
        n += 4;
        i++;
      } else n += 3;
    }
    return n;
  }

  /**
   * Runs `f`; whatever it throws is dropped unread (a thrown value may be a Proxy or
   * carry getters that throw again), and `fallback` is returned instead.
   * @template T @param {() => T} f @param {T} fallback
   */
  function guarded(f, fallback) {
    try {
      return f();
    } catch {
      return fallback;
    }
  }

  /** @type {Array<{t: number, level: string, msg: string}>} */
  let logs = [];
  let dropped = 0;

  /** @param {unknown} v */
  function show(v) {
    if (typeof v === 'string') return v;
    if (isError(v)) return guarded(() => StringCtor(/** @type {Error} */ (v).stack || `${/** @type {Error} */ (v).name}: ${/** @type {Error} */ (v).message}`), '[unreadable error]');
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'function') return `[Function ${v.name || 'anonymous'}]`;
    if (typeof v === 'symbol' || v === undefined) return StringCtor(v);
    if (typeof v !== 'object' || v === null) return StringCtor(v);
    try {
      const s = stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
      return s === undefined ? StringCtor(v) : s;
    } catch {
      return '[unserializable]';
    }
  }

  /** @param {string} level */
  function writer(level) {
    /** @param {unknown[]} args */
    return function (...args) {
      if (logs.length >= limits.maxLogLines) {
        dropped++;
        return;
      }
      let msg = '';
      for (let i = 0; i < args.length && msg.length <= limits.maxLogLineChars; i++) msg += (i ? ' ' : '') + guarded(() => show(args[i]), '[unreadable]');
      if (msg.length > limits.maxLogLineChars) msg = sliceStr(msg, 0, limits.maxLogLineChars) + '…';
      push(logs, { t: now(), level, msg });
    };
  }

  const guestConsole = {
    log: writer('log'),
    info: writer('info'),
    warn: writer('warn'),
    error: writer('error'),
    debug: writer('debug'),
    trace: writer('debug'),
  };
  Object.defineProperty(g, 'console', { value: guestConsole, writable: true, configurable: true, enumerable: false });

  /** @type {(input: unknown, context: unknown) => unknown} */
  let handler = () => undefined;
  /** @type {unknown} */
  let env = {};
  let committed = '{}';

  /** @param {unknown} v */
  function isError(v) {
    return v !== null && typeof v === 'object' && guarded(() => isPrototypeOf(ErrorProto, v), false);
  }

  /**
   * A thrown value as plain strings, read here inside the isolate (under the time
   * limit), never on the host. Reading it may run the guest's getters or Proxy traps,
   * which may throw again: each read is guarded and falls back to a fixed text.
   * @param {unknown} err
   */
  function describe(err, code = 'HANDLER_ERROR') {
    /** @param {() => unknown} read @param {number} max @param {string} fallback */
    const text = (read, max, fallback) =>
      guarded(() => {
        const v = read();
        return sliceStr(typeof v === 'string' ? v : StringCtor(v), 0, max);
      }, fallback);
    if (isError(err)) {
      const e = /** @type {Error} */ (err);
      const stack = guarded(() => e.stack, undefined);
      return {
        code,
        name: text(() => e.name, 200, 'Error'),
        message: text(() => e.message, 4000, '(the error message could not be read)'),
        stack: typeof stack === 'string' ? sliceStr(stack, 0, 8000) : undefined,
      };
    }
    // `throw "text"`, `throw 42`, `throw {..}`, `throw null`: keep what was thrown readable.
    const shown = text(() => (typeof err === 'string' ? stringify(err) : show(err)), 4000, '(unreadable)');
    return { code, name: 'NonErrorThrown', message: `a non-Error value was thrown: ${shown}` };
  }

  /** Rejects values JSON would silently drop or mangle, so a bad result is an error, not a surprise. */
  /** @param {string} _key @param {unknown} value */
  function strict(_key, value) {
    const t = typeof value;
    if (t === 'function' || t === 'symbol') throw new TypeError(`the result contains a ${t}`);
    if (t === 'bigint') throw new TypeError('the result contains a BigInt');
    return value;
  }

  function takeLogs() {
    const out = { logs, dropped };
    logs = [];
    dropped = 0;
    return out;
  }

  /** @param {string} name */
  function bind(name) {
    const exported = /** @type {any} */ (g).__redlet_exports;
    // A top-level `var` is a non-configurable global: clear it rather than delete it.
    /** @type {any} */ (g).__redlet_exports = undefined;
    const ns = exported === null || exported === undefined ? {} : exported;
    const candidate = ns[name];
    if (typeof candidate === 'function') {
      handler = candidate;
      return { ok: true };
    }
    const names = typeof ns === 'object' || typeof ns === 'function' ? filter(ObjectKeys(ns), (k) => k !== '__esModule') : [];
    if (candidate === undefined) {
      return { ok: false, code: 'HANDLER_NOT_FOUND', exports: names };
    }
    return { ok: false, code: 'HANDLER_NOT_FUNCTION', type: candidate === null ? 'null' : typeof candidate, exports: names };
  }

  /** @param {string} json */
  function setEnv(json) {
    env = parse(json);
    committed = json;
  }

  /** Marks a call whose handler returned a promise: the host awaits it with `settle`. */
  const PENDING = 'pending';
  /** @type {null | {value: unknown, context: {env: unknown}, dryRun: boolean, maxOutputBytes: number}} */
  let pending = null;

  /** @param {unknown} err @param {boolean} dryRun */
  function failed(err, dryRun) {
    if (!dryRun) env = parse(committed);
    return { ok: false, output: null, env: null, error: describe(err), ...takeLogs() };
  }

  /**
   * The synchronous part of an invocation: parse, build the context, call the handler.
   * Returns the result, or PENDING when the handler returned a promise (see `settle`),
   * so that synchronous handlers need one synchronous call from the host.
   * @param {string} inputJson
   * @param {string} fieldsJson
   * @param {boolean} dryRun
   * @param {number} maxOutputBytes
   */
  function begin(inputJson, fieldsJson, dryRun, maxOutputBytes) {
    pending = null;
    let input;
    try {
      input = parse(inputJson);
    } catch (err) {
      return { ok: false, output: null, env: null, error: describe(err, 'INPUT_NOT_JSON'), ...takeLogs() };
    }
    const fields = parse(fieldsJson);
    const ownEnv = dryRun ? parse(committed) : env;
    const context = {
      host: fields.host,
      port: fields.port,
      input_key: fields.input_key,
      output_key: fields.output_key,
      function_getmtime: fields.function_getmtime,
      last_execution: fields.last_execution === null ? null : new DateCtor(fields.last_execution),
      function_name: fields.function_name,
      env: ownEnv,
    };
    let result;
    try {
      result = handler(input, context);
      if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (/** @type {any} */ (result)).then === 'function') {
        pending = { value: result, context, dryRun, maxOutputBytes };
        return PENDING;
      }
    } catch (err) {
      return failed(err, dryRun);
    }
    return finish(result, context, dryRun, maxOutputBytes);
  }

  /** Awaits the promise `begin` left pending and finishes the invocation. */
  async function settle() {
    const p = pending;
    pending = null;
    if (!p) return { ok: false, output: null, env: null, error: { code: 'SANDBOX_ERROR', name: 'Error', message: 'nothing to settle' }, ...takeLogs() };
    let result;
    try {
      result = await p.value;
    } catch (err) {
      return failed(err, p.dryRun);
    }
    return finish(result, p.context, p.dryRun, p.maxOutputBytes);
  }

  /**
   * One invocation in one asynchronous call (the host's slow path).
   * @param {string} inputJson
   * @param {string} fieldsJson
   * @param {boolean} dryRun
   * @param {number} maxOutputBytes
   */
  async function invoke(inputJson, fieldsJson, dryRun, maxOutputBytes) {
    const r = begin(inputJson, fieldsJson, dryRun, maxOutputBytes);
    return r === PENDING ? settle() : r;
  }

  /**
   * Serializes the result and commits context.env (inside the isolate).
   * @param {unknown} result
   * @param {{env: unknown}} context
   * @param {boolean} dryRun
   * @param {number} maxOutputBytes
   */
  function finish(result, context, dryRun, maxOutputBytes) {
    let output = null;
    if (result !== undefined && result !== null) {
      try {
        output = stringify(result, strict);
      } catch (err) {
        if (!dryRun) env = parse(committed);
        const e = describe(err, 'OUTPUT_NOT_SERIALIZABLE');
        e.message = `the handler's result is not JSON-serializable: ${e.message}`;
        return { ok: false, output: null, env: null, error: e, ...takeLogs() };
      }
      const outBytes = output.length > maxOutputBytes ? utf8Length(output) : output.length * 3 > maxOutputBytes ? utf8Length(output) : output.length;
      if (outBytes > maxOutputBytes) {
        if (!dryRun) env = parse(committed);
        return {
          ok: false,
          output: null,
          env: null,
          error: { code: 'OUTPUT_TOO_LARGE', name: 'RangeError', message: `the result is ${outBytes} bytes of JSON, over the ${maxOutputBytes}-byte cap` },
          ...takeLogs(),
        };
      }
    }
    let envOut = null;
    if (!dryRun) {
      // The handler may have replaced context.env with a new object: that is its new state.
      const next = context.env;
      let envJson;
      try {
        envJson = stringify(next === undefined ? {} : next, strict);
      } catch (err) {
        env = parse(committed);
        const e = describe(err, 'ENV_NOT_SERIALIZABLE');
        e.message = `context.env is not JSON-serializable: ${e.message}`;
        return { ok: false, output: null, env: null, error: e, ...takeLogs() };
      }
      if (envJson === undefined || envJson[0] !== '{' || isArray(next)) {
        env = parse(committed);
        return { ok: false, output: null, env: null, error: { code: 'ENV_NOT_OBJECT', name: 'TypeError', message: 'context.env must stay a plain object' }, ...takeLogs() };
      }
      const envBytes = envJson.length * 3 > limits.maxEnvBytes ? utf8Length(envJson) : envJson.length;
      if (envBytes > limits.maxEnvBytes) {
        env = parse(committed);
        return {
          ok: false,
          output: null,
          env: null,
          error: { code: 'ENV_TOO_LARGE', name: 'RangeError', message: `context.env is ${envBytes} bytes of JSON, over the ${limits.maxEnvBytes}-byte cap` },
          ...takeLogs(),
        };
      }
      env = next;
      if (envJson !== committed) {
        committed = envJson;
        envOut = envJson;
      }
    }
    return { ok: true, output, env: envOut, error: null, ...takeLogs() };
  }

  /**
   * A result as JSON text, written field by field: the host gets a string, never an
   * object whose reading (a copy, a promise resolution looking up `then`) could run
   * the guest's code. Only primitives go through `stringify` (no `toJSON` lookup).
   * @param {any} r
   */
  function encode(r) {
    /** @param {unknown} v */
    const str = (v) => (typeof v === 'string' ? stringify(v) : 'null');
    /** @param {unknown} v */
    const num = (v) => (typeof v === 'number' && v === v && v !== Infinity && v !== -Infinity ? StringCtor(v) : '0');
    let logsJson = '';
    const list = r.logs;
    const n = isArray(list) ? list.length : 0;
    for (let i = 0; i < n && i < limits.maxLogLines; i++) {
      const l = list[i];
      if (l === null || typeof l !== 'object') continue;
      const level = typeof l.level === 'string' && LEVELS.indexOf(l.level) >= 0 ? l.level : 'log';
      logsJson += `${logsJson ? ',' : ''}{"t":${num(l.t)},"level":${stringify(level)},"msg":${str(l.msg)}}`;
    }
    const e = r.error;
    const errorJson =
      e === null || typeof e !== 'object' ? 'null' : `{"code":${str(e.code)},"name":${str(e.name)},"message":${str(e.message)},"stack":${str(e.stack)}}`;
    return `{"ok":${r.ok === true},"output":${str(r.output)},"env":${str(r.env)},"error":${errorJson},"logs":[${logsJson}],"dropped":${num(r.dropped)}}`;
  }

  /** Nothing the guest throws may reach the host: an entry point answers, or fails with a fixed text. */
  const broken = () => encode({ ok: false, output: null, env: null, error: { code: 'HANDLER_ERROR', name: 'Error', message: 'the function left a value redlet could not read' }, ...takeLogs() });
  const then = call.bind(Promise.prototype.then);
  return {
    /**
     * A load's last step in one call (each call into an isolate is a thread hop): binds
     * the handler, restores env and hands out what the top-level code logged.
     * @param {string} name @param {string} json
     */
    ready(name, json) {
      const bound = bind(name);
      if (!bound.ok) return { bound, logs: null };
      setEnv(json);
      return { bound, logs: encode(takeLogs()) };
    },
    setEnv,
    takeLogs: () => encode(takeLogs()),
    /** @param {string} a @param {string} b @param {boolean} c @param {number} d */
    begin(a, b, c, d) {
      try {
        const r = begin(a, b, c, d);
        return r === PENDING ? PENDING : encode(r);
      } catch {
        return broken();
      }
    },
    settle: () => then(settle(), encode, broken),
    /** @param {string} a @param {string} b @param {boolean} c @param {number} d */
    invoke: (a, b, c, d) => then(invoke(a, b, c, d), encode, broken),
  };
});
