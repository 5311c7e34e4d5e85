/**
 * Which environment variables a module reads, found in its source (TypeScript's
 * parser), so tests comparing them with the Kubernetes manifests follow config.ts as
 * it grows. Understood: `env.NAME`, `env['NAME']`, and `env[param]` inside a helper
 * whose calls pass the name as a string literal (`flag('REDLET_DEMO', ...)`) or which
 * is handed to an array method over string literals (`['A', 'B'].some(set)`). Any
 * other `env[...]` is an error, so a new pattern cannot be silently missed.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const NAME = /^[A-Z][A-Z0-9_]*$/;
const ARRAY_METHODS = new Set(['some', 'every', 'filter', 'map', 'forEach', 'find', 'findIndex', 'flatMap']);

function isEnv(node: ts.Expression): boolean {
  if (ts.isIdentifier(node)) return node.text === 'env';
  // process.env.X, process.env['X']
  return (
    ts.isPropertyAccessExpression(node) &&
    node.name.text === 'env' &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === 'process'
  );
}

function where(sf: ts.SourceFile, node: ts.Node): string {
  const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
  return `${sf.fileName}:${line + 1}`;
}

/** The name a function is called by: `function f`, `const f = (...) =>`, `const f = function`. */
function calleeName(fn: ts.SignatureDeclaration): string | null {
  if (ts.isFunctionDeclaration(fn) && fn.name) return fn.name.text;
  const parent = fn.parent;
  if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name))
    return parent.name.text;
  return null;
}

/**
 * @example
 * envNamesRead('src/config.ts'); // Set { 'REDIS_URL', 'REDIS_HOST', ... }
 */
export function envNamesRead(file: string): Set<string> {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names = new Set<string>();
  /** Helpers reading env[param]: name -> parameter index. */
  const forwarders = new Map<string, number>();

  const visitAccess = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && isEnv(node.expression) && NAME.test(node.name.text)) names.add(node.name.text);
    if (ts.isElementAccessExpression(node) && isEnv(node.expression)) {
      const arg = node.argumentExpression;
      if (ts.isStringLiteralLike(arg)) {
        names.add(arg.text);
      } else if (ts.isIdentifier(arg)) {
        let fn: ts.Node | undefined = node.parent;
        while (fn && !ts.isFunctionLike(fn)) fn = fn.parent;
        const index = fn
          ? (fn as ts.SignatureDeclaration).parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === arg.text)
          : -1;
        const name = fn && index >= 0 ? calleeName(fn as ts.SignatureDeclaration) : null;
        if (name === null)
          throw new Error(`${where(sf, node)}: env[${arg.text}] reads a name this parser cannot follow; extend test/helpers/env-names.ts`);
        forwarders.set(name, index);
      } else {
        throw new Error(`${where(sf, node)}: env[...] with a computed name; extend test/helpers/env-names.ts`);
      }
    }
    ts.forEachChild(node, visitAccess);
  };
  visitAccess(sf);

  const visitCalls = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      // helper('NAME', ...)
      if (ts.isIdentifier(node.expression) && forwarders.has(node.expression.text)) {
        const arg = node.arguments[forwarders.get(node.expression.text)!];
        if (!arg || !ts.isStringLiteralLike(arg))
          throw new Error(`${where(sf, node)}: ${node.expression.text}(...) is called without a literal name`);
        names.add(arg.text);
      }
      // ['A', 'B'].some(helper)
      const callee = node.expression;
      for (const arg of node.arguments) {
        if (!ts.isIdentifier(arg) || !forwarders.has(arg.text)) continue;
        const ok =
          forwarders.get(arg.text) === 0 &&
          ts.isPropertyAccessExpression(callee) &&
          ARRAY_METHODS.has(callee.name.text) &&
          ts.isArrayLiteralExpression(callee.expression) &&
          callee.expression.elements.every(ts.isStringLiteralLike);
        if (!ok)
          throw new Error(
            `${where(sf, node)}: ${arg.text} is passed on in a way this parser cannot follow; extend test/helpers/env-names.ts`,
          );
        for (const el of (callee as ts.PropertyAccessExpression & { expression: ts.ArrayLiteralExpression }).expression.elements)
          names.add((el as ts.StringLiteral).text);
      }
    }
    ts.forEachChild(node, visitCalls);
  };
  visitCalls(sf);
  return names;
}

/**
 * Where a module reads `process.env` directly, with the name read (`*` for a
 * computed or destructured read). Handing the whole of `process.env` to a function
 * (`loadConfig(process.env)`) is not a read.
 */
export function processEnvReads(file: string, text = readFileSync(file, 'utf8')): Array<{ where: string; name: string }> {
  const kind = file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const found: Array<{ where: string; name: string }> = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAccessExpression(node) &&
      node.name.text === 'env' &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'process'
    ) {
      const parent = node.parent;
      if (ts.isPropertyAccessExpression(parent) && parent.expression === node)
        found.push({ where: where(sf, node), name: parent.name.text });
      else if (ts.isElementAccessExpression(parent) && parent.expression === node)
        found.push({
          where: where(sf, node),
          name: ts.isStringLiteralLike(parent.argumentExpression) ? parent.argumentExpression.text : '*',
        });
      else if (!(ts.isCallExpression(parent) && parent.arguments.includes(node)) && !ts.isParameter(parent))
        found.push({ where: where(sf, node), name: '*' });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}
