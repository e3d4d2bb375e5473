// Composes subgraphs into a supergraph with Apollo's or The Guild's composition and prints
// the supergraph SDL on stdout (errors on stderr, exit code 1).
//   node compose.mjs --with guild|apollo name=url[,sdl-file] ...
// Each subgraph's SDL comes from the file when given, else from its `{ _service { sdl } }`;
// the url is where a router will send that subgraph's requests. With GATEWAY_TOKEN set, the
// SDL request carries it as `X-Gateway-Token` (villagegraph with anonymous introspection off).
import { readFile } from 'node:fs/promises';
import { parse } from 'graphql';
import { composeServices as composeWithApollo } from '@apollo/composition';
import { composeServices as composeWithGuild } from '@theguild/federation-composition';

export async function subgraphSdl(url) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(process.env.GATEWAY_TOKEN ? { 'x-gateway-token': process.env.GATEWAY_TOKEN } : {}),
    },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const result = await response.json();
  if (!result.data) throw new Error(`${url}: ${JSON.stringify(result.errors)}`);
  return result.data._service.sdl;
}

export async function compose(library, specs) {
  const services = [];
  for (const spec of specs) {
    const [name, rest] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
    const [url, file] = rest.split(',');
    const sdl = file ? await readFile(file, 'utf8') : await subgraphSdl(url);
    services.push({ name, url, typeDefs: parse(sdl) });
  }
  const composeServices = library === 'apollo' ? composeWithApollo : composeWithGuild;
  const result = composeServices(services);
  if (result.errors && result.errors.length) {
    throw new Error(result.errors.map((error) => error.message).join('\n'));
  }
  return result.supergraphSdl;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  let library = 'guild';
  if (args[0] === '--with') {
    library = args[1];
    args.splice(0, 2);
  }
  if (!['guild', 'apollo'].includes(library) || args.length === 0) {
    process.stderr.write('usage: node compose.mjs --with guild|apollo name=url[,sdl-file] ...\n');
    process.exit(2);
  }
  try {
    process.stdout.write((await compose(library, args)).trimEnd() + '\n');
  } catch (error) {
    process.stderr.write(String(error.message || error) + '\n');
    process.exit(1);
  }
}
