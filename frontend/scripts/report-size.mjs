// Prints the gzipped size of the JavaScript that index.html loads on first paint (its entry
// script and the modules it preloads), and fails the build above the budget.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 250 * 1024;
const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");
const initial = new Set();
for (const match of html.matchAll(/<script[^>]*\bsrc="([^"]+\.js)"/g)) initial.add(match[1]);
for (const match of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"/g)) {
  initial.add(match[1]);
}
if (initial.size === 0) {
  console.error("report-size: index.html loads no script; is the build broken?");
  process.exit(1);
}
let total = 0;
for (const path of initial) {
  const bytes = gzipSync(readFileSync(join(dist, path.replace(/^\//, "")))).length;
  total += bytes;
  console.log(`  ${path}  ${(bytes / 1024).toFixed(1)} KB gzipped`);
}
console.log(
  `initial JavaScript: ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)`,
);
if (total > BUDGET_BYTES) {
  console.error("initial JavaScript is over budget");
  process.exit(1);
}
