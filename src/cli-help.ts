/**
 * The command line's help texts: `redlet` / `redlet --help` print the overview,
 * `redlet help <command>` / `redlet <command> --help` one command's page.
 *
 * @example
 * helpFor('deploy'); // 'usage: redlet deploy <file|zip> ...'
 */
import { CODE_EXTENSIONS } from './code-files.js';
import { DEFAULT_PERIOD_SECONDS } from './config-schema.js';
import { LIMITS } from './function-definition.js';

const range = (r: { min: number; max: number }) => `${r.min}-${r.max}`;

const CLIENT_FLAGS = `  --url U      the redlet to talk to (default $REDLET_URL, else http://localhost:8080)
  --token T    the API token, needed to change anything (default $REDLET_API_TOKEN
               or the file named by $REDLET_API_TOKEN_FILE)
  --json       print the API's JSON instead of text`;

/** One page per command; aliases point at the same text. */
const PAGES: Record<string, string> = {
  start: `usage: redlet start

Runs the runtime: the HTTP API and dashboard on $PORT (default 8080), the functions
registered in Redis (or the embedded store when no Redis is configured), and the
course-compatible function described by the environment, if any.
Configuration is read from environment variables only (see the README's
"Configuration reference"). Stop with Ctrl-C or SIGTERM.`,
  collect: `usage: redlet collect

Writes host metrics (the course's metrics JSON) to Redis every 5 s: the course
agent's job, without the runtime. Needs REDIS_HOST (and REDIS_PORT) or REDIS_URL.`,
  deploy: `usage: redlet deploy <file|zip> [options]

Registers a function from a ${CODE_EXTENSIONS.join(' ')} file or a .zip of modules.

  --name, -n N         the function's name (default: from the file name)
  --handler H          the exported function to call (default handler)
  --input-key K        the Redis key to read (default metrics)
  --output-key K       the Redis key to write the result to (default: none)
  --trigger T          poll (every --period seconds) or keyspace (on writes)
  --period S           seconds between polls (default ${DEFAULT_PERIOD_SECONDS}; ${range(LIMITS.period)})
  --invoke-on W        change (only when the input changed) or always
  --memory MB          the isolate's memory limit (${range(LIMITS.memoryMb)})
  --timeout MS         the time limit of one run (${range(LIMITS.timeoutMs)})
  --force, -f          replace an existing function's code and settings
                       (context.env is kept; add --reset-env to clear it)
${CLIENT_FLAGS}

example: redlet deploy examples/avg.js --output-key cpu-mean`,
  list: `usage: redlet list

The registered functions with their state, trigger, keys and counters.

${CLIENT_FLAGS}`,
  get: `usage: redlet get <name>

One function's settings, status and counters (JSON).

${CLIENT_FLAGS}`,
  invoke: `usage: redlet invoke <name> [input-json] [--input-file F]

Runs the function once now, as a dry run: nothing is written to Redis and
context.env is left as it was. The input is the JSON given as an argument, or the
content of --input-file, or else the input key's current value.

  --input-file F   read the input JSON from the file F
${CLIENT_FLAGS}

example: redlet invoke avg '{"cpu_percent-0": 10, "cpu_percent-1": 30}'`,
  logs: `usage: redlet logs <name> [--limit L]

The function's captured console lines, oldest first.

  --limit L    at most L lines
${CLIENT_FLAGS}`,
  rm: `usage: redlet rm <name>

Stops and deletes a function and its stored state.

${CLIENT_FLAGS}`,
  pause: `usage: redlet pause <name>

Stops running the function on its trigger (it stays registered).

${CLIENT_FLAGS}`,
  resume: `usage: redlet resume <name>

Runs a paused function on its trigger again.

${CLIENT_FLAGS}`,
  help: `usage: redlet help [command]

The overview, or one command's options.`,
};
PAGES.ls = PAGES.list!;
PAGES.delete = PAGES.rm!;

/** Every command name the CLI knows, aliases included (for suggestions). */
export const COMMAND_NAMES = [...Object.keys(PAGES), 'version'];

export function usage(version: string): string {
  return `redlet ${version}: a sandboxed serverless runtime (functions in V8 isolates, triggered by Redis)

usage: redlet <command> [options]

server:
  start             run the runtime (HTTP API and dashboard on $PORT, default 8080)
  collect           only write host metrics to Redis every 5 s (the course agent's job)

client (talk to a running redlet; --url, --token):
  deploy <file>     register a function from a .js/.ts/.py file or a .zip
  list              the functions, with state and counters
  get <name>        one function's settings and status (JSON)
  invoke <name> [json]
                    run once now on the JSON given (a dry run: nothing written)
  logs <name>       the function's captured console lines
  rm <name>         stop and delete a function
  pause <name> / resume <name>

  help <command>    a command's options       --version  redlet's version

example: redlet start, then in another terminal:
  redlet deploy examples/avg.js --output-key cpu-mean
`;
}

/** One command's page, or null for a command that does not exist. */
export function helpFor(command: string): string | null {
  const page = PAGES[command];
  return page === undefined ? null : `${page}\n`;
}
