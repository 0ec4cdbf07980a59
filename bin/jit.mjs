#!/usr/bin/env node
// The `jit` command. In a checkout it runs the sources (through tsx, a dev dependency); in the
// production image, which ships only the build, it runs dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { tsImport } = await import('tsx/esm/api');
  main = await tsImport(source.href, import.meta.url);
} else {
  main = await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
process.exitCode = await main.runCli(process.argv.slice(2));
