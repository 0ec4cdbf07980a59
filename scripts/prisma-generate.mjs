// Generates the Prisma client. `prisma generate` needs no database and no schema engine, but the
// CLI insists on locating one at start-up; where none can be downloaded, any existing file will
// do as a stand-in (it is never run by `generate`).
import { spawnSync } from 'node:child_process';

const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const result = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
