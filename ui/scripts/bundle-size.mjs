// The production build (dist/), checked: prints its gzipped size (issue #9's target is
// under 150 KB) and fails if any fixture data or the fixture IPC made it in — the fixture
// belongs to development and `--mode fixture` builds only (src/backend/index.ts).
// Run after `vite build`:  node scripts/bundle-size.mjs [dist]
import { readFileSync, readdirSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(process.argv[2] ?? join(here, "../dist"));
const TARGET_KB = 150;
// FIXTURE_MARKER (src/fixture/data.ts), a fixture-only name, and the fixture IPC's hooks.
const FORBIDDEN = ["schooldesk-fixture-data-7f3a", "Papadopoulos-Worthington", "__fixture", "mockIPC"];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

let raw = 0;
let gz = 0;
const found = [];
for (const file of files(dist)) {
  if (!/\.(js|css|html)$/.test(file)) continue;
  const bytes = readFileSync(file);
  const zipped = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gz += zipped;
  console.log(`  ${relative(dist, file).padEnd(40)} ${(bytes.length / 1024).toFixed(1).padStart(7)} KB  ${(zipped / 1024).toFixed(1).padStart(6)} KB gz`);
  const text = bytes.toString("utf8");
  for (const marker of FORBIDDEN) if (text.includes(marker)) found.push(`${relative(dist, file)}: ${marker}`);
}
if (raw === 0) {
  console.error(`no .js/.css/.html under ${dist}: run \`npm run build\` first`);
  process.exit(1);
}
console.log(`UI bundle: ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (target < ${TARGET_KB} KB gz)`);
if (found.length) {
  console.error(`FAIL: the production build carries fixture code or data:\n  ${found.join("\n  ")}`);
  process.exit(1);
}
console.log("no fixture data in the production build");
if (gz / 1024 >= TARGET_KB) {
  console.error(`FAIL: the UI bundle is ${(gz / 1024).toFixed(1)} KB gzipped, over ${TARGET_KB} KB`);
  process.exit(1);
}
