// Hive Gateway (The Guild's runtime, MIT) serving the subgraphs named on the command line
// (name=url ...): composes them once with @theguild/federation-composition from their
// `_service { sdl }` (compose.mjs; a failure exits 1, so a caller can retry), forwards the
// caller's Authorization header to every subgraph, runs villagegraph's subscriptions over
// graphql-transport-ws on its /graphql with that header as the connection_init payload
// (@graphql-mesh/transport-ws; clients subscribe to the gateway over SSE, `Accept:
// text/event-stream`), and prints its own URL on stdout once it listens. GATEWAY_PORT /
// GATEWAY_HOST choose where (default: a free port on 127.0.0.1).
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { compose } from './compose.mjs';

const subgraphs = process.argv.slice(2);
const port = Number(process.env.GATEWAY_PORT || 0);
const host = process.env.GATEWAY_HOST || '127.0.0.1';

let supergraph;
try {
  supergraph = await compose('guild', subgraphs);
} catch (error) {
  process.stderr.write(`composition failed: ${error.message || error}\n`);
  process.exit(1);
}

const gateway = createGatewayRuntime({
  supergraph,
  graphqlEndpoint: '/graphql',
  landingPage: false,
  graphiql: false,
  transportEntries: {
    villagegraph: {
      options: {
        subscriptions: {
          kind: 'ws',
          location: '/graphql',
          options: { connectionParams: { Authorization: '{context.headers.authorization}' } },
        },
      },
    },
  },
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      const authorization = request.headers.get('authorization');
      return authorization ? { authorization } : {};
    },
  },
});

const server = createServer(gateway);
server.listen(port, host, () => {
  const address = server.address();
  process.stdout.write(`http://${host}:${address.port}/graphql\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
