/**
 * The process entry point and composition root: the CLI with the pages mounted.
 * `bin/redlet.js` runs the compiled copy; tests run this file with tsx.
 */
import { runCli } from '../src/cli.js';
import { mountUi } from './index.js';

await runCli(process.argv.slice(2), { mountUi });
