# The part of redlet that runs inside the interpreter, as module `_redlet`. It is part
# of the memory snapshot every Python function starts from. The host calls three
# functions through the isolate's glue (boot.mjs), always with strings, and gets JSON
# text back: `load` (user files are already in FUNCTION_ROOT), `set_env`, `invoke`.
import ast
import builtins
import datetime
import importlib.util
import io
import json
import math
import os
import sys
import time
import traceback

FUNCTION_ROOT = '/function'
MAX_LOG_LINES = 200
MAX_LOG_CHARS = 4000
MAX_ENV_BYTES = 1 << 20

_logs = []
_dropped = 0
_handler = None
_committed = '{}'


def configure(limits_json):
    global MAX_LOG_LINES, MAX_LOG_CHARS, MAX_ENV_BYTES
    limits = json.loads(limits_json)
    MAX_LOG_LINES = int(limits.get('maxLogLines', MAX_LOG_LINES))
    MAX_LOG_CHARS = int(limits.get('maxLogLineChars', MAX_LOG_CHARS))
    MAX_ENV_BYTES = int(limits.get('maxEnvBytes', MAX_ENV_BYTES))


def _emit(level, msg):
    global _dropped
    if len(_logs) >= MAX_LOG_LINES:
        _dropped += 1
        return
    if len(msg) > MAX_LOG_CHARS:
        msg = msg[:MAX_LOG_CHARS] + '\u2026'
    _logs.append({'t': int(time.time() * 1000), 'level': level, 'msg': msg})


class _LogStream(io.TextIOBase):
    """sys.stdout / sys.stderr: each line becomes one log line of the function."""

    def __init__(self, level, name):
        self._level = level
        self._buf = ''
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return 'utf-8'

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f'write() argument must be str, not {type(s).__name__}')
        self._buf += s
        if '\n' in self._buf:
            *lines, self._buf = self._buf.split('\n')
            for line in lines:
                _emit(self._level, line)
        if len(self._buf) > MAX_LOG_CHARS:
            _emit(self._level, self._buf)
            self._buf = ''
        return len(s)

    def flush(self):
        if self._buf:
            _emit(self._level, self._buf)
            self._buf = ''


sys.stdout = sys.__stdout__ = _LogStream('log', '<stdout>')
sys.stderr = sys.__stderr__ = _LogStream('error', '<stderr>')


def _take_logs():
    global _logs, _dropped
    sys.stdout.flush()
    sys.stderr.flush()
    out = {'logs': _logs, 'dropped': _dropped}
    _logs = []
    _dropped = 0
    return out


class Context:
    """The course runtime's `context`: plain attributes, created once per function."""

    def __init__(self):
        self.host = 'localhost'
        self.port = 6379
        self.input_key = None
        self.output_key = None
        self.function_getmtime = None
        self.last_execution = None
        self.function_name = None
        self.env = {}

    def __repr__(self):
        shown = ', '.join(f'{k}={v!r}' for k, v in vars(self).items() if k != 'env')
        return f'Context({shown}, env=<{len(self.env) if isinstance(self.env, dict) else "?"} keys>)'


_context = Context()


def _show_path(filename):
    if filename.startswith(FUNCTION_ROOT + '/'):
        return filename[len(FUNCTION_ROOT) + 1:]
    return filename


def _user_frame(filename):
    return filename.startswith(FUNCTION_ROOT + '/')


def format_exception(exc):
    """A traceback with the user's frames only (file paths relative to the function)."""
    te = traceback.TracebackException.from_exception(exc, capture_locals=False)
    return ''.join(_format_te(te)).rstrip('\n')


def _format_te(te):
    out = []
    if te.__cause__ is not None:
        out += _format_te(te.__cause__)
        out.append('\nThe above exception was the direct cause of the following exception:\n\n')
    elif te.__context__ is not None and not te.__suppress_context__:
        out += _format_te(te.__context__)
        out.append('\nDuring handling of the above exception, another exception occurred:\n\n')
    frames = [f for f in te.stack if _user_frame(f.filename)]
    if frames:
        out.append('Traceback (most recent call last):\n')
        for f in frames:
            out.append(f'  File "{_show_path(f.filename)}", line {f.lineno}, in {f.name}\n')
            if f.line:
                out.append(f'    {f.line.strip()}\n')
    if isinstance(te.filename if hasattr(te, 'filename') else None, str):
        te.filename = _show_path(te.filename)
    out += list(te.format_exception_only())
    return out


def _describe(exc, code='HANDLER_ERROR'):
    return {
        'code': code,
        'name': type(exc).__name__[:200],
        'message': str(exc)[:4000],
        'stack': format_exception(exc)[:8000],
    }


def _where(exc):
    """`file:line` of the innermost user frame of an exception, or ''."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f'{_show_path(exc.filename)}:{exc.lineno}'
    tb = exc.__traceback__
    found = ''
    while tb is not None:
        fn = tb.tb_frame.f_code.co_filename
        if _user_frame(fn):
            found = f'{_show_path(fn)}:{tb.tb_lineno}'
        tb = tb.tb_next
    return found


def _user_modules():
    names = set()
    for entry in os.listdir(FUNCTION_ROOT):
        full = os.path.join(FUNCTION_ROOT, entry)
        if entry.endswith('.py'):
            names.add(entry[:-3])
        elif os.path.isdir(full) and entry.isidentifier():
            names.add(entry)
    return sorted(names)


def _catches_import_error(handlers):
    for h in handlers:
        if h.type is None:
            return True
        types = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
        for t in types:
            if isinstance(t, ast.Name) and t.id in ('ImportError', 'ModuleNotFoundError', 'Exception', 'BaseException'):
                return True
    return False


def _imports(tree):
    """Absolute imports of a module, leaving out those guarded by `except ImportError`."""
    found = []

    def visit(node, guarded):
        if isinstance(node, ast.Try) or (hasattr(ast, 'TryStar') and isinstance(node, ast.TryStar)):
            inner = guarded or _catches_import_error(node.handlers)
            for child in node.body:
                visit(child, inner)
            for child in node.handlers + node.orelse + node.finalbody:
                visit(child, guarded)
            return
        if isinstance(node, ast.Import) and not guarded:
            for alias in node.names:
                found.append((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom) and not guarded and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


def _check_sources():
    """Compiles every .py file of the function and checks that its imports exist."""
    for base, dirs, files in os.walk(FUNCTION_ROOT):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            path = os.path.join(base, name)
            with open(path, 'rb') as f:
                source = f.read()
            try:
                tree = ast.parse(source, filename=path)
            except SyntaxError as exc:
                return {'code': 'LOAD_SYNTAX', 'message': f'{_show_path(path)}:{exc.lineno}: {type(exc).__name__}: {exc.msg}' + (f'\n    {exc.text.rstrip()}' if exc.text else '')}
            for module, line in _imports(tree):
                top = module.split('.')[0]
                if top in sys.builtin_module_names or top in sys.modules:
                    continue
                try:
                    spec = importlib.util.find_spec(top)
                except (ImportError, ValueError):
                    spec = None
                if spec is None:
                    return {'code': 'LOAD_MODULE_NOT_FOUND', 'message': _missing(top, path, line)}
    return None


def _missing(module, path, line):
    own = ', '.join(_user_modules()) or 'none'
    return (f"{_show_path(path)}:{line}: imports '{module}', which is not available. Python functions can import the "
            f"standard library and the function's own modules ({own}); packages with C extensions (numpy, pandas, ...) and "
            f"packages that are not in the function's files (requests, redis, ...) are not available. Vendor a pure-Python "
            f"package by putting its folder in the function's ZIP.")


def load(module_name, export_name):
    """Imports the user's module and binds the handler. Returns JSON: {ok} or {ok: false, code, message}."""
    global _handler
    if FUNCTION_ROOT not in sys.path:
        sys.path.insert(0, FUNCTION_ROOT)
    os.chdir(FUNCTION_ROOT)
    problem = _check_sources()
    if problem:
        return json.dumps({'ok': False, **problem})
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        where = _where(exc) or module_name
        if exc.name and exc.name.split('.')[0] not in _user_modules():
            return json.dumps({'ok': False, 'code': 'LOAD_MODULE_NOT_FOUND', 'message': _missing(exc.name, where.split(':')[0], where.split(':')[-1])})
        return json.dumps({'ok': False, 'code': 'LOAD_EVALUATION', 'message': f'{where}: {type(exc).__name__}: {exc}', 'stack': format_exception(exc)})
    except SyntaxError as exc:
        return json.dumps({'ok': False, 'code': 'LOAD_SYNTAX', 'message': f'{_where(exc)}: {type(exc).__name__}: {exc.msg}'})
    except BaseException as exc:  # noqa: BLE001 - any failure of the user's top-level code
        where = _where(exc)
        return json.dumps({'ok': False, 'code': 'LOAD_EVALUATION', 'message': f'{module_name} failed while loading: {type(exc).__name__}: {exc}' + (f' ({where})' if where else ''), 'stack': format_exception(exc)})
    fn = getattr(module, export_name, None)
    names = sorted(n for n in vars(module) if not n.startswith('_') and callable(getattr(module, n, None)))
    if fn is None:
        return json.dumps({'ok': False, 'code': 'HANDLER_NOT_FOUND', 'message': f"{_show_path(getattr(module, '__file__', module_name) or module_name)} has no function '{export_name}' (it defines: {', '.join(names[:20]) or 'no functions'})"})
    if not callable(fn):
        return json.dumps({'ok': False, 'code': 'HANDLER_NOT_FUNCTION', 'message': f"{_show_path(getattr(module, '__file__', module_name) or module_name)}: '{export_name}' is a {type(fn).__name__}, not a function"})
    _handler = fn
    return json.dumps({'ok': True, 'file': _show_path(getattr(module, '__file__', '') or '')})


def set_env(env_json):
    global _committed
    _context.env = json.loads(env_json)
    _committed = env_json


def take_logs():
    return json.dumps(_take_logs())


class _NotJson(Exception):
    pass


def _check_json(value, path, depth=0):
    """Finds the first value JSON cannot hold, so the error names its type and place."""
    if depth > 500:
        raise _NotJson(f'the result is nested too deeply at {path}')
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise _NotJson(f'{path} is {value!r}, which JSON cannot hold (use None or a string)')
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_json(v, f'{path}[{i}]', depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise _NotJson(f'{path} has a key of type {type(k).__name__} ({k!r}); JSON object keys must be strings')
            _check_json(v, f'{path}[{k!r}]', depth + 1)
        return
    raise _NotJson(f'{path} is a {type(value).__name__} ({_short_repr(value)}), which JSON cannot hold; convert it first (e.g. list(...), str(...), .isoformat())')


def _short_repr(value):
    try:
        r = repr(value)
    except Exception:  # noqa: BLE001
        r = '?'
    return r if len(r) <= 60 else r[:57] + '...'


def _failure(error, dry_run):
    if not dry_run:
        _context.env = json.loads(_committed)
    return json.dumps({'ok': False, 'output': None, 'env': None, 'error': error, **_take_logs()})


def invoke(input_json, fields_json, dry_run, max_output_bytes):
    global _committed
    try:
        value = json.loads(input_json)
    except ValueError as exc:
        return json.dumps({'ok': False, 'output': None, 'env': None, 'error': {'code': 'INPUT_NOT_JSON', 'name': 'JSONDecodeError', 'message': str(exc)}, **_take_logs()})
    fields = json.loads(fields_json)
    ctx = Context() if dry_run else _context
    ctx.host = fields['host']
    ctx.port = int(fields['port'])
    ctx.input_key = fields['input_key']
    ctx.output_key = fields['output_key']
    ctx.function_getmtime = fields['function_getmtime']
    last = fields['last_execution']
    ctx.last_execution = None if last is None else datetime.datetime.fromtimestamp(last / 1000)
    ctx.function_name = fields.get('function_name')
    if dry_run:
        ctx.env = json.loads(_committed)
    try:
        result = _handler(value, ctx)
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt is the time limit's soft stop
        return _failure(_describe(exc), dry_run)
    if hasattr(result, '__await__') and hasattr(result, 'close'):
        result.close()
        return _failure({'code': 'HANDLER_ASYNC', 'name': 'TypeError', 'message': 'the handler is a coroutine function (async def): there is no event loop between invocations; define it with plain def'}, dry_run)
    output = None
    if result is not None:
        try:
            _check_json(result, 'result')
            output = json.dumps(result, allow_nan=False, separators=(',', ':'), ensure_ascii=False)
        except (_NotJson, TypeError, ValueError, RecursionError) as exc:
            return _failure({'code': 'OUTPUT_NOT_SERIALIZABLE', 'name': 'TypeError', 'message': f"the handler's result is not JSON-serializable: {exc}"}, dry_run)
        size = len(output.encode('utf-8'))
        if size > max_output_bytes:
            return _failure({'code': 'OUTPUT_TOO_LARGE', 'name': 'ValueError', 'message': f'the result is {size} bytes of JSON, over the {max_output_bytes}-byte cap'}, dry_run)
    env_out = None
    if not dry_run:
        env = ctx.env
        if not isinstance(env, dict):
            return _failure({'code': 'ENV_NOT_OBJECT', 'name': 'TypeError', 'message': f'context.env must stay a dict, not a {type(env).__name__}'}, dry_run)
        try:
            _check_json(env, 'context.env')
            env_json = json.dumps(env, allow_nan=False, separators=(',', ':'), ensure_ascii=False)
        except (_NotJson, TypeError, ValueError, RecursionError) as exc:
            return _failure({'code': 'ENV_NOT_SERIALIZABLE', 'name': 'TypeError', 'message': f'context.env is not JSON-serializable: {exc}'}, dry_run)
        size = len(env_json.encode('utf-8'))
        if size > MAX_ENV_BYTES:
            return _failure({'code': 'ENV_TOO_LARGE', 'name': 'ValueError', 'message': f'context.env is {size} bytes of JSON, over the {MAX_ENV_BYTES}-byte cap'}, dry_run)
        if env_json != _committed:
            _committed = env_json
            env_out = env_json
    return json.dumps({'ok': True, 'output': output, 'env': env_out, 'error': None, **_take_logs()})


def after_restore():
    """Per-interpreter state that must not be shared through the snapshot."""
    if 'random' in sys.modules:
        sys.modules['random'].seed()
