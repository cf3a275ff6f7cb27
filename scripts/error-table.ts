/**
 * Writes the README's error table from the registry (runtime/core/error-registry.ts):
 *   node --import tsx scripts/error-table.ts
 * runtime/core/error-registry.test.ts fails until the README matches the registry.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withErrorTable } from '../runtime/core/error-table.ts';

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const updated = withErrorTable(readFileSync(readmePath, 'utf8'));
if (updated === undefined) {
  process.stderr.write('README.md has no error table markers (see runtime/core/error-table.ts)\n');
  process.exit(1);
}
writeFileSync(readmePath, updated);
