// PostGraphile 4 over the benchmark's database, for the opt-in feed comparison.
// Same database and role (vg_request, the URL in PG_URL), same RLS context: each request
// runs in one transaction where vg.begin_request(<database session token>) is called first,
// exactly as villagegraph opens a request. PostGraphile's pgSettings can only set GUCs
// (set_config), and the context is a signed blob that only vg.begin_request produces, so
// the server uses PostGraphile as a library: withPostGraphileContext opens the transaction
// (a harmless GUC forces one) and the first statement on its client is vg.begin_request.
// The bearer value is the database session token (the benchmark opened it with
// vg.open_session); PostGraphile does not verify villagegraph's JWTs.
const http = require("http");
const { Pool } = require("pg");
const { graphql } = require("graphql");
const { createPostGraphileSchema, withPostGraphileContext } = require("postgraphile");

const port = Number(process.argv[2] || 5099);
const pgPool = new Pool({ connectionString: process.env.PG_URL, max: 10 });

async function main() {
  const schema = await createPostGraphileSchema(process.env.PG_URL, ["vg"], {
    disableDefaultMutations: true,
    ignoreRBAC: false,
  });
  http
    .createServer((req, res) => {
      if (req.method === "GET") {
        res.writeHead(200, { "Content-Type": "text/plain" });
        return res.end("ok");
      }
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", async () => {
        const { query, variables } = JSON.parse(Buffer.concat(chunks).toString());
        const token = (req.headers.authorization || "").replace(/^Bearer /, "");
        const result = await withPostGraphileContext(
          { pgPool, pgSettings: { "bench.postgraphile": "1" } },
          async (context) => {
            await context.pgClient.query("select vg.begin_request($1)", [token]);
            return graphql(schema, query, null, context, variables);
          }
        );
        const body = JSON.stringify(result);
        res.writeHead(200, {
          "Content-Type": "application/json",
          "Content-Length": Buffer.byteLength(body),
        });
        res.end(body);
      });
    })
    .listen(port, "127.0.0.1", () => console.log(`postgraphile on ${port}`));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
