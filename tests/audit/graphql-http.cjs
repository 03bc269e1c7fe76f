// Runs graphql-http's GraphQL-over-HTTP audit against a running reelgraph.
// Usage: NODE_PATH=<folder holding graphql-http> node graphql-http.cjs http://HOST:PORT/graphql
// Prints one JSON object: {ok, notice, warn, error, failures: [{id, name, status, reason}]}.
const { auditServer } = require('graphql-http');

(async () => {
  const results = await auditServer({ url: process.argv[2] });
  const summary = { ok: 0, notice: 0, warn: 0, error: 0, failures: [] };
  for (const r of results) {
    summary[r.status] += 1;
    if (r.status !== 'ok') {
      summary.failures.push({ id: r.id, name: r.name, status: r.status, reason: r.reason });
    }
  }
  console.log(JSON.stringify(summary));
})();
