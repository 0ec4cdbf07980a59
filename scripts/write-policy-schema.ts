import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { policyJsonSchema } from '../src/config/json-schema.js';

/** `npm run schema`: regenerates jit.config.schema.json; a test fails when it is stale. */
const target = fileURLToPath(new URL('../jit.config.schema.json', import.meta.url));
await writeFile(target, `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
