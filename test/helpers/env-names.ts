/**
 * Where a module reads `process.env` itself, found in its source (TypeScript's parser):
 * the Kubernetes tests hold that only src/config.ts reads settings (each through its
 * schema in src/config-schema.ts), so the schemas name every variable redlet reads.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';

function where(sf: ts.SourceFile, node: ts.Node): string {
  const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
  return `${sf.fileName}:${line + 1}`;
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
