// One-letter names only in tiny lambdas: lists every variable, parameter, function or member named with one
// letter elsewhere, as file:line:column, and exits 1 when there is any. A lambda is tiny when its body is
// an expression or fits on three lines; classic for-loop counters (i, j, k) and the unused `_` are allowed.
// Run by `npm run lint` and scripts/test.sh, beside Biome, which has no such rule.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOTS = ['src', 'test', 'bench'];
const COUNTERS = new Set(['i', 'j', 'k']);

function files(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return files(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function lineOf(source, pos) {
  return source.getLineAndCharacterOfPosition(pos).line;
}

function isTinyLambda(source, node) {
  if (!ts.isArrowFunction(node) && !ts.isFunctionExpression(node)) return false;
  if (!ts.isBlock(node.body)) return true;
  return lineOf(source, node.body.getEnd()) - lineOf(source, node.body.getStart(source)) <= 2;
}

/** The nearest function-like node around a declaration, and whether the declaration is a for-loop counter. */
function enclosing(node) {
  let current = node.parent;
  while (current && !ts.isFunctionLike(current) && !ts.isSourceFile(current)) current = current.parent;
  return current;
}

function isForCounter(decl) {
  const list = decl.parent;
  return ts.isVariableDeclarationList(list) && list.parent && ts.isForStatement(list.parent);
}

const findings = [];
for (const file of ROOTS.flatMap((root) => (fs.existsSync(root) ? files(root) : []))) {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const visit = (node) => {
    const named =
      ts.isVariableDeclaration(node) ||
      ts.isParameter(node) ||
      ts.isFunctionDeclaration(node) ||
      ts.isBindingElement(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isPropertyDeclaration(node) ||
      ts.isClassDeclaration(node);
    if (named && node.name && ts.isIdentifier(node.name) && node.name.text.length === 1 && node.name.text !== '_') {
      const scope = enclosing(node);
      const tiny = scope && !ts.isSourceFile(scope) && isTinyLambda(source, scope) && !ts.isFunctionDeclaration(node);
      const counter = ts.isVariableDeclaration(node) && isForCounter(node) && COUNTERS.has(node.name.text);
      if (!tiny && !counter) {
        const { line, character } = source.getLineAndCharacterOfPosition(node.name.getStart(source));
        findings.push(`${file}:${line + 1}:${character + 1} one-letter name '${node.name.text}'`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
for (const finding of findings) console.log(finding);
if (findings.length > 0) {
  console.error(`${findings.length} one-letter name(s) outside tiny lambdas (scripts/lint-names.mjs)`);
  process.exit(1);
}
