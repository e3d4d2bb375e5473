// An Apollo Gateway composing the subgraphs named on the command line
// (name=url ...) with IntrospectAndCompose; forwards the caller's Authorization header
// and prints its own URL on stdout once it listens.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';

const subgraphs = process.argv.slice(2).map((arg) => {
  const [name, url] = arg.split('=');
  return { name, url };
});
const port = Number(process.env.GATEWAY_PORT || 0);

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({ subgraphs }),
  buildService({ url }) {
    return new RemoteGraphQLDataSource({
      url,
      willSendRequest({ request, context }) {
        if (context.authorization) {
          request.http.headers.set('authorization', context.authorization);
        }
      },
    });
  },
});

const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port, host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
process.stdout.write(url + '\n');
