// The one error registry (README "Errors"): every code declared once, the README's table generated from it, and no
// `'ERR_…'` literal anywhere else in the source (tests may keep literals in assertions: they check the contract).
// The test reads the file system, so it may import node builtins; the registry it checks may not.
/* eslint-disable no-restricted-imports -- this test is not part of the pure core; it inspects the tree */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';
import { ERRORS, ErrorCode, JsonRpcCode, errorMessage, errorSpec, exitCodeOf, httpStatusOf, isRetryable, jsonRpcCodeOf } from './error-registry.ts';
import type { ErrorSpec } from './error-registry.ts';
import { OpenStarryError } from './errors.ts';
import { TABLE_BEGIN, TABLE_END, renderErrorTable } from './error-table.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE_DIRS = ['runtime', 'hal', 'drivers', 'board-profiles', 'agents', 'scripts'];
const SOURCE_EXT = /\.(ts|js|mjs|cjs)$/;
/** Test code: suites, their shared contracts and support files. They may spell codes out in assertions. */
const TEST_FILE = /(\.test\.ts|\.test-support\.ts|-contract\.ts|\/test-kit\.ts|\/test-io\.ts)$/;
const REGISTRY_FILE = 'runtime/core/error-registry.ts';
const CODE = /\bERR_[A-Z0-9_]*[A-Z0-9]\b/g;
/** Codes tests use that are not ours: Node's own, and codes a test's agent makes up to see them passed through. */
const FOREIGN_IN_TESTS = new Set(['ERR_DLOPEN_DISABLED', 'ERR_INVALID_ARG_TYPE', 'ERR_PARSE_ARGS_UNKNOWN_OPTION', 'ERR_SENSOR_GLITCH', 'ERR_FROM_A_LATER_PART', 'ERR_X', 'ERR_SOMEONE_ELSES']);

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && SOURCE_EXT.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((f) => !f.split('/').includes('node_modules'));
}

/** Every string and template-literal text of a file (comments are not strings), with its line. */
function stringsOf(file: string, source: string): { text: string; line: number }[] {
  const kind = file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, kind);
  const found: { text: string; line: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      found.push({ text: node.text, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

t.test('each name is its code without ERR_, each code declared once, each spec complete', async (t) => {
  const codes = new Set<string>();
  for (const [name, spec] of Object.entries(ERRORS) as [string, ErrorSpec][]) {
    t.equal(spec.code, `ERR_${name}`, name);
    t.notOk(codes.has(spec.code), `${spec.code} declared once`);
    codes.add(spec.code);
    t.ok(spec.message.length > 0 && !spec.message.includes('\n'), `${spec.code} has a one-line message`);
    t.ok(Number.isInteger(spec.http) && spec.http >= 400 && spec.http < 600, `${spec.code} maps to an HTTP error status`);
    t.ok(spec.rpc === undefined || Object.values(JsonRpcCode).includes(spec.rpc as never), `${spec.code} maps to a JSON-RPC error code`);
    t.equal(ErrorCode[name as keyof typeof ErrorCode], spec.code);
  }
  t.ok(Object.isFrozen(ErrorCode));
});

t.test('the mappings the control socket and the CLI rely on', async (t) => {
  t.equal(jsonRpcCodeOf(ErrorCode.INVALID_REQUEST), -32600);
  t.equal(jsonRpcCodeOf(ErrorCode.METHOD_NOT_FOUND), -32601);
  t.equal(jsonRpcCodeOf(ErrorCode.INVALID_PARAMS), -32602);
  t.equal(jsonRpcCodeOf(ErrorCode.INTERNAL), -32603);
  t.equal(jsonRpcCodeOf(ErrorCode.AGENT_NOT_FOUND), -32000, 'domain errors are application errors');
  t.equal(jsonRpcCodeOf('ERR_SOMEONE_ELSES'), -32000);
  t.equal(exitCodeOf(ErrorCode.DAEMON_UNREACHABLE), 3);
  t.equal(exitCodeOf(ErrorCode.SOCKET_PERMISSION_DENIED), 3);
  t.equal(exitCodeOf(ErrorCode.USAGE), 2);
  t.equal(exitCodeOf(ErrorCode.AGENT_NOT_FOUND), 1);
  t.equal(exitCodeOf('ERR_SOMEONE_ELSES'), 1);
  t.equal(httpStatusOf(ErrorCode.TEMPLATE_NOT_FOUND), 404);
  t.equal(httpStatusOf(ErrorCode.TEMPLATE_INVALID), 422);
  t.equal(httpStatusOf(ErrorCode.METHOD_NOT_ALLOWED), 405);
  t.equal(httpStatusOf('ERR_SOMEONE_ELSES'), 500);
  t.ok(isRetryable(ErrorCode.CONTROL_BUSY));
  t.notOk(isRetryable(ErrorCode.DAEMON_UNREACHABLE), 'only when the connect was refused for a full backlog: the client decides');
  t.equal(errorSpec('ERR_SOMEONE_ELSES'), undefined);
});

t.test('default messages: an error raised without one says what its code means', async (t) => {
  t.equal(new OpenStarryError(ErrorCode.AGENT_NOT_FOUND).message, ERRORS.AGENT_NOT_FOUND.message);
  t.equal(new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, 'no agent 7').message, 'no agent 7', 'a given message wins');
  t.equal(new OpenStarryError('ERR_SOMEONE_ELSES').message, 'ERR_SOMEONE_ELSES');
  t.equal(errorMessage('ERR_SOMEONE_ELSES'), 'ERR_SOMEONE_ELSES');
});

t.test("the README's error table is the registry's", async (t) => {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  t.ok(begin >= 0 && end > begin, 'README.md has the error table markers');
  const table = readme.slice(begin, end + TABLE_END.length);
  t.equal(table, renderErrorTable(), 'README.md is up to date: node --import tsx scripts/error-table.ts');
  const undeclared = [...new Set(readme.match(CODE) ?? [])].filter((code) => errorSpec(code) === undefined);
  t.same(undeclared, [], 'every code the README names is declared');
});

t.test("no 'ERR_…' literal outside the registry; every code a test names is declared (or foreign)", async (t) => {
  const files = (await Promise.all(SOURCE_DIRS.map(sourceFiles))).flat();
  t.ok(files.length > 100, `${files.length} source files`);
  const literals: string[] = [];
  const undeclared: string[] = [];
  for (const file of files) {
    if (file === REGISTRY_FILE) continue;
    const source = await readFile(path.join(ROOT, file), 'utf8');
    if (!source.includes('ERR_')) continue;
    const test = TEST_FILE.test(`/${file}`);
    for (const { text, line } of stringsOf(file, source)) {
      for (const code of text.match(CODE) ?? []) {
        if (!test) literals.push(`${file}:${line}: ${code}`);
        else if (errorSpec(code) === undefined && !FOREIGN_IN_TESTS.has(code)) undeclared.push(`${file}:${line}: ${code}`);
      }
    }
  }
  t.same(literals, [], 'raise and compare codes through ErrorCode (runtime/core/error-registry.ts)');
  t.same(undeclared, [], 'a test names only declared codes (add a new one to the registry first)');
});
