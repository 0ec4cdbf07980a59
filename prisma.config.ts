import { defineConfig } from 'prisma/config';

// The CLI is only used for `prisma generate` (no database needed) and, where Prisma's schema
// engine is available, `prisma migrate deploy`. The running bot applies the same migration files
// itself (src/db/migrate.ts), so it does not depend on that engine.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://jit:jit@127.0.0.1:5432/jit' },
});
