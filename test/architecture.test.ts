import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Dependencies flow inward: `domain/` imports nothing of ours, `app/` (the use cases) imports no
 * transport or adapter (Slack, HTTP, BullMQ jobs, providers), and the audit chain imports neither.
 * Adapters call in; the use cases reach out only through `Deps`.
 */

const src = join(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level folder under `src/` each file of `folder` imports (relative imports only). */
function importedFolders(folder: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of sourceFiles(join(src, folder))) {
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = relative(src, join(file, '..', spec as string)).split('/')[0] as string;
      if (target === folder) continue;
      found.set(target, [...(found.get(target) ?? []), relative(src, file)]);
    }
  }
  return found;
}

const allowed: Record<string, readonly string[]> = {
  domain: [],
  app: ['domain', 'config', 'audit', 'generated'],
  audit: ['domain', 'generated'],
};

describe('dependency direction', () => {
  for (const [folder, may] of Object.entries(allowed)) {
    it(`src/${folder}/ imports only ${may.length > 0 ? may.join(', ') : 'itself'}`, () => {
      const outside = [...importedFolders(folder)].filter(([target]) => !may.includes(target));
      expect(outside.map(([target, files]) => `${target} ← ${files.join(', ')}`)).toEqual([]);
    });
  }

  it('finds imports at all (the check is not vacuous)', () => {
    expect([...importedFolders('app').keys()]).toEqual(expect.arrayContaining(['domain', 'audit']));
  });
});
