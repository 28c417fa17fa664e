// createGateway(deps, config): the HTTP + WebSocket server of Patchwork's public API.
//   POST /graphql   queries and mutations (Apollo Server 5, express 5)
//   WS   /graphql   subscriptions (graphql-ws), same path
//   POST /uploads   image bytes → {id, width, height, contentType, url}
//   GET  /blobs/:id uploads, previews, results (owner only, immutable caching)
//   GET  /healthz /readyz /metrics, /graphiql (outside production), / (the web page)
// It owns no job state: jobs come from the injected JobService, so this file is the same whether
// the job actors live in this process or elsewhere. `stop()` drains: /readyz turns 503, the
// listener closes, WebSocket clients are closed with 1001 (going away: graphql-ws clients
// reconnect, to another replica), requests in flight finish.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ExecutionArgs, GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { createAuthenticator, type Authenticator } from './auth.ts';
import type { GatewayConfig } from './config.ts';
import type { GatewayContext } from './context.ts';
import type { GatewayDeps } from './deps.ts';
import { ErrorCode, formatGatewayError, gatewayError, httpStatusOf, type GatewayErrorCode } from './errors.ts';
import { GRAPHIQL_CSP, graphiqlPage } from './graphiql.ts';
import { blobHandler } from './http/blobs.ts';
import { sendError } from './http/tenant.ts';
import { uploadHandler } from './http/uploads.ts';
import { MAX_NESTING, nestsTooDeep } from './limits/nesting.ts';
import { queryLimitsRule } from './limits/query-limits.ts';
import { createRateLimiter, type RateLimiter } from './limits/rate-limiter.ts';
import { GatewayMetrics } from './metrics.ts';
import { gatewaySchema } from './schema.ts';
import { socketFrameSink, subscribeShared, type FrameSink } from './shared-execution.ts';
import { JobWatchHub } from './watch-hub.ts';
import { prepareWsOperation } from './ws-operation.ts';
import { classifySocketErrors } from './ws-socket-errors.ts';

export interface Gateway {
  readonly app: express.Express;
  readonly server: Server;
  readonly hub: JobWatchHub;
  readonly metrics: GatewayMetrics;
  readonly auth: Authenticator;
  /** True from the moment stop() is called. */
  readonly draining: boolean;
  /** Listens on config.port (0 = a free port) and resolves to the base URL. */
  listen(): Promise<{ port: number; url: string }>;
  /** Graceful stop; resolves when the server is closed. Safe to call twice. */
  stop(): Promise<void>;
}

/** Close code for WebSockets on drain: going away, so clients reconnect (to another replica). */
export const DRAIN_CLOSE_CODE = 1001;

interface WsExtra extends Record<PropertyKey, unknown> {
  tenant?: string;
}

export async function createGateway(deps: GatewayDeps, config: GatewayConfig): Promise<Gateway> {
  const logger: Logger = deps.logger ?? pino({ level: config.logLevel, name: 'gateway' });
  const auth = createAuthenticator(config.tokenMap);
  if (auth.open) logger.warn('no API tokens configured (PATCHWORK_TOKENS, PATCHWORK_TOKENS_FILE): the gateway is OPEN, every caller is tenant "local"');
  const limiter: RateLimiter = createRateLimiter(config.rateLimitPerSecond, config.rateLimitBurst);
  // States reach the hub only after listen(), when `metrics` below exists.
  const hub = new JobWatchHub(deps.jobs, logger, {
    onState: (view) => metrics.updateLag.observe(Math.max(0, Date.now() - Date.parse(view.updatedAt)) / 1000),
    onFanOut: (_view, seconds) => metrics.fanOut.observe(seconds),
  });
  const schema = gatewaySchema();
  const production = config.production;
  const blobUrl = (id: string): string => `${config.publicUrl ? config.publicUrl.replace(/\/+$/, '') : ''}/blobs/${id}`;
  const limitsRule = queryLimitsRule({ maxDepth: config.maxQueryDepth, maxCost: config.maxQueryCost });
  let draining = false;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Slow-loris guards: headers within 20 s; whole requests (uploads have their own, shorter,
  // body timeout) within 2 minutes. Node enforces both only when it checks its connections,
  // every 30 s by default: a client trickling its headers held its socket for 20-50 s. Checked
  // every second, the deadline is the deadline.
  const server = createServer({ connectionsCheckingInterval: 1_000 }, app);
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: config.maxRequestBytes });
  classifySocketErrors(wsServer, logger);

  const metrics = new GatewayMetrics(
    { subscriptions: () => hub.subscriberCount, jobWatches: () => hub.feedCount, webSockets: () => wsServer.clients.size, jobStatusCounts: deps.jobStatusCounts },
    deps.metricsRegistries,
  );

  const contextFor = (tenant: string): GatewayContext => ({ tenant, jobs: deps.jobs, hub, kernelNodes: deps.kernelNodes, blobUrl });

  const formatError = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const out = formatGatewayError(formatted, error, production);
    const code = String(out.extensions?.code ?? ErrorCode.internal);
    metrics.graphqlErrors.inc({ code });
    if (code === ErrorCode.internal) logger.error({ err: error }, 'internal error in a GraphQL operation');
    return out;
  };

  // ---- subscriptions (graphql-ws on /graphql) ----
  // Each prepared operation's socket and subscription id, for job states written as frames
  // directly (shared-execution.ts); graphql-ws hands the same ExecutionArgs object to `subscribe`.
  const frameSinks = new WeakMap<ExecutionArgs, FrameSink>();
  const countUpdate = () => metrics.subscriptionUpdates.inc();
  const wsCleanup = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      connectionInitWaitTimeout: 10_000,
      onConnect: (ctx) => {
        if (draining) {
          ctx.extra.socket.close(DRAIN_CLOSE_CODE, 'Going away: draining');
          return false;
        }
        const tenant = auth.tenantOf(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
        if (tenant === null) {
          // 4401 is graphql-ws's Unauthorized; clients do not retry it.
          ctx.extra.socket.close(4401, 'UNAUTHENTICATED: pass connectionParams.authorization = "Bearer <token>"');
          return false;
        }
        (ctx.extra as WsExtra).tenant = tenant;
        return true;
      },
      subscribe: (args) => subscribeShared(args, frameSinks.get(args)),
      onSubscribe: (ctx, id, payload) => {
        const tenant = (ctx.extra as WsExtra).tenant!;
        // graphql-ws has already entered this subscription in ctx.subscriptions: it counts itself.
        if (Object.keys(ctx.subscriptions).length > config.maxSubscriptionsPerConnection) {
          return [gatewayError(ErrorCode.badUserInput, `at most ${config.maxSubscriptionsPerConnection} subscriptions per connection.`, { reason: 'TOO_MANY_SUBSCRIPTIONS' })];
        }
        if (!limiter.take(tenant)) return [gatewayError(ErrorCode.rateLimited, 'too many requests; slow down.')];
        // Parsed and validated here, not by graphql-ws: its own parse closes the socket on a syntax error.
        const prepared = prepareWsOperation(schema, payload, [limitsRule]);
        if (!Array.isArray(prepared)) frameSinks.set(prepared, socketFrameSink(ctx.extra.socket, id, countUpdate));
        return prepared;
      },
      context: (ctx) => contextFor((ctx.extra as WsExtra).tenant!),
      // Job states without errors are framed in shared-execution.ts and counted there.
      onNext: (_ctx, _id, _payload, _args, result) => {
        countUpdate();
        if (!result.errors) return undefined;
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)),
    },
    wsServer,
  );

  // ---- queries and mutations (Apollo) ----
  const wsDrain: ApolloServerPlugin<GatewayContext> = {
    async serverWillStart() {
      return {
        async drainServer() {
          await wsCleanup.dispose();
        },
      };
    },
  };
  const latency: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart() {
      const start = performance.now();
      return {
        async willSendResponse(rc) {
          const operation = rc.operation?.operation ?? 'unknown';
          const outcome = rc.errors?.length ? 'error' : 'ok';
          metrics.graphqlDuration.observe({ operation, outcome }, (performance.now() - start) / 1000);
        },
      };
    },
  };
  const noHttpSubscriptions: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation(rc) {
          if (rc.operation?.operation === 'subscription') {
            throw gatewayError(ErrorCode.badUserInput, 'subscriptions run over WebSocket (graphql-ws protocol) on /graphql, not over HTTP.', { reason: 'SUBSCRIPTION_OVER_HTTP' });
          }
        },
      };
    },
  };
  const apollo = new ApolloServer<GatewayContext>({
    schema,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer: server, stopGracePeriodMillis: config.drainMs }), wsDrain, ApolloServerPluginLandingPageDisabled(), latency, noHttpSubscriptions],
    validationRules: [limitsRule],
    formatError,
    includeStacktraceInErrorResponses: !production,
    introspection: true,
    // The process owner (patchwork gateway) handles SIGTERM and calls stop() in order; Apollo's
    // own handler would race it and re-raise the signal.
    stopOnTerminationSignals: false,
    logger,
  });
  await apollo.start();

  const graphqlError = (res: Response, code: GatewayErrorCode, message: string, reason?: string): void => {
    metrics.graphqlErrors.inc({ code });
    res.status(httpStatusOf(code)).json({ errors: [{ message, extensions: { code, ...(reason ? { reason } : {}) } }] });
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    if (draining) {
      res.status(503).json({ ready: false, draining: true });
      return;
    }
    try {
      const h = await Promise.race([deps.health(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('health check timed out')), 2_000).unref())]);
      const ready = h.nats && h.kernelNodes >= 1;
      res.status(ready ? 200 : 503).json({ ready, nats: h.nats, kernelNodes: h.kernelNodes });
    } catch (err) {
      res.status(503).json({ ready: false, error: (err as Error).message });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.render());
  });

  app.post(
    '/uploads',
    uploadHandler(
      { maxBytes: config.maxUploadBytes, maxPixels: config.maxImagePixels, timeoutMs: config.uploadTimeoutMs },
      {
        jobs: deps.jobs,
        blobs: deps.blobs,
        auth,
        limiter,
        blobUrl,
        onUpload: (bytes) => {
          metrics.uploads.inc();
          metrics.uploadBytes.inc(bytes);
        },
      },
    ),
  );
  app.get('/blobs/:id', blobHandler({ jobs: deps.jobs, blobs: deps.blobs, auth, limiter }));

  app.use(
    '/graphql',
    express.json({ limit: config.maxRequestBytes }),
    // A body that is too large or not JSON never reaches Apollo: answer it as GraphQL would.
    (err: unknown, _req: Request, res: Response, next: NextFunction) => {
      const e = err as { type?: string; status?: number };
      if (e?.type === 'entity.too.large') return graphqlError(res, ErrorCode.payloadTooLarge, `the request body is larger than ${config.maxRequestBytes} bytes.`);
      if (e?.type === 'entity.parse.failed') return graphqlError(res, ErrorCode.badUserInput, 'the request body is not valid JSON.', 'MALFORMED_JSON');
      if (e?.status && e.status < 500) return graphqlError(res, ErrorCode.badUserInput, 'the request body cannot be read.', 'BAD_REQUEST');
      next(err);
    },
    (req: Request, res: Response, next: NextFunction) => {
      if (req.method !== 'GET' && req.method !== 'POST') return next();
      const tenant = auth.tenantOf(req.headers.authorization);
      if (tenant === null) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return graphqlError(res, ErrorCode.unauthenticated, req.headers.authorization ? 'the token is not valid.' : 'send Authorization: Bearer <token>.');
      }
      if (!limiter.take(tenant)) {
        res.setHeader('Retry-After', String(Math.max(1, limiter.retryAfterSeconds(tenant))));
        return graphqlError(res, ErrorCode.rateLimited, 'too many requests; slow down and retry after the Retry-After seconds.');
      }
      res.locals.tenant = tenant;
      // Nesting is capped before graphql's recursive parser runs (limits/nesting.ts).
      const query: unknown = req.method === 'GET' ? req.query.query : (req.body as { query?: unknown } | undefined)?.query;
      if (typeof query === 'string' && nestsTooDeep(query)) {
        return graphqlError(res, ErrorCode.badUserInput, `the operation nests brackets deeper than ${MAX_NESTING} levels.`, 'QUERY_TOO_DEEP');
      }
      next();
    },
    expressMiddleware(apollo, { context: async ({ res }) => contextFor(res.locals.tenant as string) }),
  );

  if (config.graphiql) {
    app.get('/graphiql', (_req, res) => {
      res.setHeader('Content-Security-Policy', GRAPHIQL_CSP);
      res.type('html').send(graphiqlPage(!auth.open));
    });
  }
  // Relative to the repository (the install), not to the working directory.
  const webDir = resolve(fileURLToPath(import.meta.url), '../../..', config.webDir);
  if (existsSync(webDir)) {
    app.use(express.static(webDir, { index: 'index.html', fallthrough: true, dotfiles: 'ignore' }));
  } else if (config.graphiql) {
    app.get('/', (_req, res) => res.redirect(302, '/graphiql'));
  }

  app.use((_req, res) => sendError(res, ErrorCode.notFound, 'no such endpoint.'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err }, 'internal error in an HTTP request');
    sendError(res, ErrorCode.internal, production ? 'Internal server error' : String((err as Error)?.message ?? err));
  });

  let stopping: Promise<void> | null = null;
  const gateway: Gateway = {
    app,
    server,
    hub,
    metrics,
    auth,
    get draining() {
      return draining;
    },
    listen() {
      return new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          const port = (server.address() as AddressInfo).port;
          const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
          resolveListen({ port, url: `http://${host}:${port}` });
        });
      });
    },
    stop() {
      stopping ??= (async () => {
        draining = true;
        logger.info('gateway draining: closing WebSockets and waiting for requests in flight');
        // Drain plugins: WebSockets closed with 1001 (their subscriptions unsubscribe, so the hub's
        // upstream watches stop), then the HTTP listener, then requests in flight.
        await apollo.stop();
        hub.close();
        logger.info('gateway stopped');
      })();
      return stopping;
    },
  };
  return gateway;
}
