/**
 * The one list of file kinds a function's code may come as, used by the API's upload
 * checks, the CLI's help, the dashboard's register form and course compatibility.
 *
 * @example
 * CODE_EXTENSIONS.includes('.py'); // true
 */
import { CODE_EXTENSIONS as JS_CODE_EXTENSIONS } from '../sandbox/module-resolver.js';
import { isPythonFile, PYTHON_EXTENSIONS } from '../sandbox/python/python-entry.js';

/**
 * Extensions of single-file code: what the sandbox runs, JavaScript and TypeScript
 * (sandbox/module-resolver.ts) and Python; `.zip` is the other kind.
 */
export const CODE_EXTENSIONS: readonly string[] = [...JS_CODE_EXTENSIONS, ...PYTHON_EXTENSIONS];

/** Everything an upload may be, for a file picker's `accept`: `.js,.mjs,…,.zip`. */
export const UPLOAD_ACCEPT = [...CODE_EXTENSIONS, '.zip'].join(',');

/** Where the course's Deployment mounts the user module, JavaScript or Python: the first that exists is used. */
export const DEFAULT_FUNCTION_FILES = ['/opt/usermodule.js', '/opt/usermodule.py'] as const;

/** The documented default memory limit of Python functions (the interpreter alone fills about 31 MB of it). */
export const PYTHON_DEFAULT_MEMORY_MB = 128;

export const isPythonFilename = isPythonFile;
