import { z } from 'zod';
import { createPostgresProvider, postgresGrantSchema, postgresProviderConfigSchema } from './postgres.js';
import type { Provider } from './provider.js';

/**
 * Every provider type the policy file may name: its config schema, the schema of a resource's
 * `grant` block, and how to build it. Adding a provider means adding one entry here.
 */
export const providerConfigSchema = z.discriminatedUnion('type', [postgresProviderConfigSchema]);
export type ProviderConfig = z.output<typeof providerConfigSchema>;

const grantSchemas: Record<ProviderConfig['type'], z.ZodType> = {
  postgres: postgresGrantSchema,
};

export function grantSchemaFor(type: ProviderConfig['type']): z.ZodType {
  return grantSchemas[type];
}

export function createProvider(config: ProviderConfig): Provider {
  switch (config.type) {
    case 'postgres':
      return createPostgresProvider(config);
  }
}

/** Builds every provider the policy names, keyed by its name. */
export function createProviders(configs: Record<string, ProviderConfig>): Map<string, Provider> {
  return new Map(Object.entries(configs).map(([name, config]) => [name, createProvider(config)]));
}
