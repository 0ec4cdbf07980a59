import type { WebClientOptions } from '@slack/web-api';
import { z } from 'zod';
import type { Provider } from '../app/provider.js';
import { identityPolicySchema } from '../config/identity-schema.js';
import { awsSsoGrantSchema, awsSsoProviderConfigSchema, createAwsSsoProvider } from './aws-sso.js';
import {
  createGithubTeamProvider,
  githubTeamGrantSchema,
  githubTeamProviderConfigSchema,
} from './github-team.js';
import {
  createKubernetesProvider,
  kubernetesGrantSchema,
  kubernetesProviderConfigSchema,
} from './kubernetes.js';
import { createMysqlProvider, mysqlGrantSchema, mysqlProviderConfigSchema } from './mysql.js';
import { createPostgresProvider, postgresGrantSchema, postgresProviderConfigSchema } from './postgres.js';
import {
  createSlackUsergroupProvider,
  slackUsergroupGrantSchema,
  slackUsergroupProviderConfigSchema,
} from './slack-usergroup.js';
import { createWebhookProvider, webhookGrantSchema, webhookProviderConfigSchema } from './webhook.js';

/**
 * Every provider type the policy file may name: its config schema, the schema of a resource's
 * `grant` block, and how to build it. Adding a provider means adding one entry here (and deciding
 * in `config/policy.ts` whether it can count sessions).
 */
const identity = { identity: identityPolicySchema.optional() };
export const providerConfigSchema = z.discriminatedUnion('type', [
  postgresProviderConfigSchema.extend(identity),
  mysqlProviderConfigSchema.extend(identity),
  webhookProviderConfigSchema.extend(identity),
  slackUsergroupProviderConfigSchema,
  githubTeamProviderConfigSchema.extend(identity),
  awsSsoProviderConfigSchema.extend(identity),
  kubernetesProviderConfigSchema.extend(identity),
]);
export type ProviderConfig = z.output<typeof providerConfigSchema>;

const grantSchemas: Record<ProviderConfig['type'], z.ZodType> = {
  postgres: postgresGrantSchema,
  mysql: mysqlGrantSchema,
  webhook: webhookGrantSchema,
  'slack-usergroup': slackUsergroupGrantSchema,
  'github-team': githubTeamGrantSchema,
  'aws-sso': awsSsoGrantSchema,
  kubernetes: kubernetesGrantSchema,
};

export function grantSchemaFor(type: ProviderConfig['type']): z.ZodType {
  return grantSchemas[type];
}

/** What providers get from the bot's own environment rather than from the policy file. */
export interface ProviderContext {
  slack: { token: string; apiUrl: string; clientOptions?: WebClientOptions };
}

export function createProvider(config: ProviderConfig, context: ProviderContext): Provider {
  switch (config.type) {
    case 'postgres':
      return createPostgresProvider(config);
    case 'mysql':
      return createMysqlProvider(config);
    case 'webhook':
      return createWebhookProvider(config);
    case 'slack-usergroup':
      return createSlackUsergroupProvider(config, context.slack);
    case 'github-team':
      return createGithubTeamProvider(config);
    case 'aws-sso':
      return createAwsSsoProvider(config);
    case 'kubernetes':
      return createKubernetesProvider(config);
  }
}

/** Builds every provider the policy names, keyed by its name. */
export function createProviders(
  configs: Record<string, ProviderConfig>,
  context: ProviderContext,
): Map<string, Provider> {
  return new Map(Object.entries(configs).map(([name, config]) => [name, createProvider(config, context)]));
}
