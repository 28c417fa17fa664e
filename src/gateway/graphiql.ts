// The offline GraphiQL page (outside production): @graphql-yoga/render-graphiql inlines the whole
// GraphiQL bundle (scripts, styles, editor workers as blob URLs) into one HTML document, so it
// works behind firewalls with no CDN. A Content-Security-Policy allowing only this origin, inline
// code and blob workers makes the browser refuse any external load, should a future version add one.
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

const DEFAULT_QUERY = `# Patchwork: upload images with POST /uploads, then
# mutation { createInpaintJob(input: {imageId: "…", maskId: "…"}) { id status } }
# subscription { jobUpdates(id: "…") { status progress level iteration preview { url } result { url } } }
query MyJobs {
  jobs(first: 10) {
    nodes { id status progress createdAt result { url } }
    pageInfo { hasNextPage endCursor }
  }
  kernelNodes { id address inFlight capacity }
}
`;

export const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self' ws: wss:",
].join('; ');

const pages = new Map<boolean, string>();

/** The page's HTML (about 9 MB; rendered once, on first use). With tokens, it starts with an Authorization header to fill in. */
export function graphiqlPage(withToken: boolean): string {
  let page = pages.get(withToken);
  if (page) return page;
  page = renderGraphiQL({
    title: 'Patchwork GraphiQL',
    endpoint: '/graphql',
    subscriptionsProtocol: 'WS',
    defaultQuery: DEFAULT_QUERY,
    ...(withToken ? { headers: JSON.stringify({ Authorization: 'Bearer <token>' }, null, 2) } : {}),
  } as Parameters<typeof renderGraphiQL>[0]);
  pages.set(withToken, page);
  return page;
}
