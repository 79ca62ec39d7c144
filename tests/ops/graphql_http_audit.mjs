// Runs the graphql-http package's server audit against a live gateway (CONTRACT §16).
// Usage: NODE_PATH is not used by ES modules, so run with the package's directory:
//   node graphql_http_audit.mjs <graphql-http module dir> <url>
// Prints one JSON line per audit; the exit status is 1 when any audit is an error or a warning.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [moduleDir, url] = process.argv.slice(2);
const entry = pathToFileURL(path.join(moduleDir, 'lib', 'index.mjs')).href;
const { auditServer } = await import(entry);

const results = await auditServer({ url });
let failed = 0;
for (const result of results) {
  const line = { status: result.status, id: result.id, name: result.name };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    line.httpStatus = result.response.status;
    line.contentType = result.response.headers.get('content-type');
    line.body = await result.response.text();
  }
  if (result.status === 'error' || result.status === 'warn') failed += 1;
  console.log(JSON.stringify(line));
}
process.exit(failed ? 1 : 0);
