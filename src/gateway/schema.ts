// The executable schema: schema.graphql (the public contract, at the repository root) with the
// gateway's resolvers. Schema-first: a resolver for a field the file does not declare is an error.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { resolvers } from './resolvers.ts';

export const SCHEMA_PATH = resolve(fileURLToPath(import.meta.url), '../../../schema.graphql');

let schema: GraphQLSchema | null = null;

export function gatewaySchema(): GraphQLSchema {
  schema ??= makeExecutableSchema({
    typeDefs: readFileSync(SCHEMA_PATH, 'utf8'),
    resolvers,
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
  return schema;
}
