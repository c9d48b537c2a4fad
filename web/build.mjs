// Builds the browser client into dist/ (index.html, style.css, app.js) with esbuild, and with --tests
// also bundles test/*.test.ts into test-dist/ for node's test runner.
import { build } from "esbuild";
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const tests = process.argv.includes("--tests");

await rm(join(here, "dist"), { recursive: true, force: true });
await mkdir(join(here, "dist"), { recursive: true });
await build({
  entryPoints: [join(here, "src/main.ts")],
  bundle: true,
  format: "esm",
  target: "es2022",
  sourcemap: true,
  minify: true,
  outfile: join(here, "dist/app.js"),
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) {
  await copyFile(join(here, file), join(here, "dist", file));
}

if (tests) {
  const entries = (await readdir(join(here, "test"))).filter((f) => f.endsWith(".test.ts"));
  await rm(join(here, "test-dist"), { recursive: true, force: true });
  await build({
    entryPoints: entries.map((f) => join(here, "test", f)),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outdir: join(here, "test-dist"),
    outExtension: { ".js": ".mjs" },
    packages: "external",
    logLevel: "warning",
  });
}
