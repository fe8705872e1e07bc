#!/usr/bin/env node
// Build step (after tsc and compile-schemas): bundles each CLI with esbuild into one
// file, dist/cli/bin/<bin>.js (replacing tsc's tiny entry files), so start-up loads
// a handful of files instead of ~150 modules. Everything a command imports lazily
// (`await import(…)`) becomes a chunk next to the bins, loaded only by that command;
// the heavy packages (Kubernetes client, fastify, SQLite, got, listr2, execa) stay
// outside the bundle and are loaded from node_modules by those chunks.
//
// `new URL('…', import.meta.url)` in the sources (schemas/, extensions/,
// package.json, the worker threads, the compiled validators) is rewritten to the
// same target as seen from the bundle's folder. Source maps (*.js.map) point into
// src/; they are read only with --verbose (see src/cli/bin/*.ts).
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const outdir = join(root, 'dist/cli/bin');
const compiledDir = join(root, 'dist/descriptor/compiled');

/** Packages loaded from node_modules at run time, never bundled (heavy, native, or only on lazy paths). */
export const EXTERNAL = [
  '@kubernetes/client-node',
  'better-sqlite3',
  'execa',
  'fastify',
  '@fastify/*',
  'got',
  'light-my-request',
  'listr2',
];

/** Worker-thread modules: their own entry points, next to the bins. */
const WORKERS = ['cli/commands/registry-serve-worker.ts', 'registry/server/parse-worker.ts'];

const posix = (p) => p.split(sep).join('/');

/** Rewrites `new URL('rel', import.meta.url)` so it names the same file from outdir. */
const importMetaUrls = {
  name: 'import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      let text = await readFile(args.path, 'utf8');
      text = text.replace(/new URL\((['"])([^'"]+)\1,\s*import\.meta\.url\)/g, (whole, q, rel) => {
        if (!rel.startsWith('.')) return whole;
        const target = resolve(dirname(args.path), rel);
        let to;
        if (target.startsWith(src + sep) && target.endsWith('.js')) {
          const ts = relative(src, target).replace(/\.js$/, '.ts');
          if (!WORKERS.includes(posix(ts))) throw new Error(`${args.path}: new URL('${rel}') names ${ts}, which is not a bundled worker entry`);
          to = `./${ts.split(sep).pop().replace(/\.ts$/, '.js')}`;
        } else if (target === join(src, 'descriptor/compiled')) {
          to = './compiled/';
        } else if (target.startsWith(src + sep) || target === src) {
          throw new Error(`${args.path}: new URL('${rel}') names a source file the bundle does not ship`);
        } else {
          to = posix(relative(outdir, target)) + (rel.endsWith('/') ? '/' : '');
        }
        return `new URL(${JSON.stringify(to)}, import.meta.url)`;
      });
      return { contents: text, loader: 'ts' };
    });
  },
};

/** Content hash of what the build is made of: the repository cache (src/descriptor/cache.ts) is per build. */
async function buildId() {
  const h = createHash('sha256');
  const walk = async (dir) => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) h.update(`${posix(relative(root, p))}\0`).update(await readFile(p)).update('\0');
    }
  };
  await walk(src);
  await walk(join(root, 'schemas'));
  for (const f of ['package.json', 'package-lock.json']) h.update(f).update(await readFile(join(root, f)));
  return h.digest('hex').slice(0, 32);
}

/**
 * yaml's `node` export is CommonJS, and a CommonJS package imported with `await import()` from a
 * split bundle only has a default export: take its ES module build (the same code).
 */
const yamlEsm = {
  name: 'yaml-esm',
  setup(b) {
    // -o yaml (src/cli/yaml-stringify.ts): yaml's Document and its writer only — its documented
    // equivalent of stringify(value, options) — in a chunk without the parser (half the package).
    b.onResolve({ filter: /^yaml$/ }, (args) =>
      args.importer === join(src, 'cli/yaml-stringify.ts') ? { path: 'yaml-writer', namespace: 'yaml-writer' } : { path: join(root, 'node_modules/yaml/browser/index.js') },
    );
    b.onLoad({ filter: /.*/, namespace: 'yaml-writer' }, () => ({
      resolveDir: root,
      contents: `import { Document } from ${JSON.stringify(join(root, 'node_modules/yaml/browser/dist/doc/Document.js'))};
export const stringify = (value, options) => (value === undefined ? undefined : new Document(value, options).toString(options));`,
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
const BANNER = "import { createRequire as __fusemlCreateRequire } from 'node:module'; const require = __fusemlCreateRequire(import.meta.url);";
const result = await build({
  absWorkingDir: root,
  entryPoints: [
    ...['fuseml', 'fuseml-installer', 'fuseml-registry'].map((b) => ({ in: `src/cli/bin/${b}.ts`, out: b })),
    ...WORKERS.map((w) => ({ in: `src/${w}`, out: w.split('/').pop().replace(/\.ts$/, '') })),
  ],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  define: { FUSEML_BUILD_ID: JSON.stringify(await buildId()) },
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  sourcesContent: false,
  // The bundled CommonJS packages (commander, ajv…) call require(): give the ESM bundle one
  // (removed below from the files that never use it).
  banner: { js: BANNER },
  plugins: [importMetaUrls, yamlEsm],
  metafile: true,
  write: false,
  logLevel: 'warning',
  legalComments: 'none',
  // Less to parse at start-up; names are kept (readable stack traces even without the maps).
  minifyWhitespace: true,
  minifySyntax: true,
});
await mkdir(outdir, { recursive: true });
for (const f of result.outputFiles) {
  let text = f.text;
  // Each file that runs createRequire pays for it at start-up: keep the banner only where
  // `require` is used. Its line stays (empty), so the source maps' line numbers still hold.
  if (f.path.endsWith('.js') && !/\brequire\b/.test(text.replace(BANNER, ''))) text = text.replace(BANNER, '');
  await writeFile(f.path, text);
}
// Every module's package scope is looked up from its folder upwards: one right here (the
// same "type" as the package's) ends the look-up at the first step.
await writeFile(join(outdir, 'package.json'), '{ "type": "module" }\n');

// The stand-alone validators (ajv's generated code plus the few ajv/ajv-formats runtime
// helpers it requires), each bundled into one CommonJS file next to the bins.
const names = (await readdir(compiledDir)).filter((f) => f.endsWith('.cjs'));
await build({
  absWorkingDir: root,
  entryPoints: names.map((f) => join(compiledDir, f)),
  outdir: join(outdir, 'compiled'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
});

await writeFile(join(root, 'dist/bundle-meta.json'), JSON.stringify(result.metafile));
const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'));
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`bundle: ${outputs.length} files in ${posix(relative(root, outdir))} (${kib(outputs.reduce((s, [, o]) => s + o.bytes, 0))}); entry points:`);
for (const [f, o] of outputs) if (!/chunk-/.test(f)) console.log(`  ${posix(relative(outdir, join(root, f)))} ${kib(o.bytes)}`);
