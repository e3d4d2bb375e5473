// Runs graphql-http's server audits (GraphQL over HTTP conformance) against a URL and
// prints one JSON array of {id, name, status, reason} on stdout.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
const summary = [];
for (const result of results) {
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
  }
  summary.push(entry);
}
process.stdout.write(JSON.stringify(summary));
