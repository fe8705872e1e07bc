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
import { chmod, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { rollup } from 'rollup';

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
const id = await buildId();
/** Each bin with the worker threads it starts. */
const BINS = { fuseml: [], 'fuseml-installer': [], 'fuseml-registry': WORKERS };
/** What each bin loads after turning source maps on (src/cli/bin/*.ts). */
const START = { fuseml: 'src/cli/main/fuseml.ts', 'fuseml-installer': 'src/cli/main/installer.ts', 'fuseml-registry': 'src/cli/main/registry.ts' };
/** Commands that must start fast (bench/cli.bench.mjs): each gets the modules it loads beyond START in one file. */
const WARM = { 'fuseml-installer': ['src/cli/commands/extensions.ts', 'src/cli/yaml-stringify.ts'] };
const metafile = { inputs: {}, outputs: {} };
for (const [bin, workers] of Object.entries(BINS)) {
  // esbuild's output for this bin, in a folder as deep as outdir (its source maps' relative paths hold).
  const stage = join(root, `dist/cli/.bundle-${bin}`);
  await rm(stage, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: [
      { in: `src/cli/bin/${bin}.ts`, out: bin },
      ...workers.map((w) => ({ in: `src/${w}`, out: w.split('/').pop().replace(/\.ts$/, '') })),
    ],
    outdir: stage,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    define: { FUSEML_BUILD_ID: JSON.stringify(id) },
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    sourcesContent: false,
    // The bundled CommonJS packages (commander, ajv…) call require(): give the ESM bundle one
    // (removed below from the files that never use it).
    banner: { js: BANNER },
    plugins: [importMetaUrls, yamlEsm],
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
    // Less to parse at start-up; names are kept (readable stack traces even without the maps).
    minifyWhitespace: true,
    minifySyntax: true,
  });
  const esInputs = new Map(Object.entries(result.metafile.outputs).map(([f, o]) => [join(root, f), o]));
  // A command that must start fast gets what it loads beyond the start-up files in one file.
  const closure = (file, into = new Set()) => {
    if (into.has(file)) return into;
    into.add(file);
    for (const i of esInputs.get(file)?.imports ?? []) if (i.kind === 'import-statement' && !i.external) closure(join(root, i.path), into);
    return into;
  };
  const esOutputOf = (entry) => [...esInputs].find(([, o]) => o.entryPoint === entry)?.[0];
  const entry = closure(esOutputOf(`src/cli/bin/${bin}.ts`));
  const started = closure(esOutputOf(START[bin]), new Set(entry));
  // Named chunks, each of what is loaded together: rollup would otherwise pull shared
  // dependencies into the first named chunk (e.g. startup.ts into the bin's static imports'
  // 'main', loaded before prepareStart() turned source maps on).
  const manual = new Map([...started].filter((f) => f !== esOutputOf(`src/cli/bin/${bin}.ts`)).map((f) => [f, entry.has(f) ? 'start' : 'main']));
  for (const e of WARM[bin] ?? []) for (const f of closure(esOutputOf(e))) if (!started.has(f) && !manual.has(f)) manual.set(f, e.split('/').pop().replace(/\.ts$/, ''));
  const bundle = await rollup({
    input: [bin, ...workers.map((w) => w.split('/').pop().replace(/\.ts$/, ''))].map((n) => join(stage, `${n}.js`)),
    external: (spec) => !spec.startsWith('.') && !spec.startsWith('/'),
    treeshake: false,
    preserveEntrySignatures: false,
    onwarn: (w) => { if (w.code !== 'CIRCULAR_DEPENDENCY') throw new Error(`rollup: ${w.message}`); },
    plugins: [{
      name: 'esbuild-output',
      async load(file) {
        let code = (await readFile(file, 'utf8')).replace(/^#!.*\n/, '\n');
        // createRequire costs each file that runs it: keep it only where `require` is used.
        if (!/\brequire\b/.test(code.replace(BANNER, ''))) code = code.replace(BANNER, '');
        return { code, map: await readFile(`${file}.map`, 'utf8') };
      },
    }],
  });
  const out = await bundle.write({ dir: outdir, format: 'es', manualChunks: (file) => manual.get(file), entryFileNames: '[name].js', chunkFileNames: 'chunk-[hash].js', sourcemap: true, sourcemapExcludeSources: true, banner: (c) => (c.isEntry && c.name === bin ? '#!/usr/bin/env node' : '') });
  await bundle.close();
  // Executable, as npm makes a bin when it installs or links the package: a clone linked with `npm link` and built
  // again must still run (the build writes the file anew, mode 0644 otherwise).
  await chmod(join(outdir, `${bin}.js`), 0o755);
  // esbuild's metafile, restated for the final files (test/integration/bundle.test.ts reads it):
  // each file with the source inputs of what it holds, the entry points it answers (`entryPoint`
  // where it is one file's own, `entryPoints` for every module it holds that is imported lazily
  // or is a bin) and its imports.
  const files = new Set(out.output.map((o) => o.fileName));
  const rel = (f) => posix(relative(root, join(outdir, f)));
  for (const c of out.output) {
    if (c.type !== 'chunk') continue;
    const inputs = {};
    const entryPoints = [];
    for (const m of Object.keys(c.modules)) {
      const o = esInputs.get(m);
      Object.assign(inputs, o?.inputs ?? {});
      if (o?.entryPoint) entryPoints.push(o.entryPoint);
    }
    const own = c.facadeModuleId ? esInputs.get(c.facadeModuleId)?.entryPoint : undefined;
    metafile.outputs[rel(c.fileName)] = {
      bytes: Buffer.byteLength(c.code),
      ...(own ? { entryPoint: own } : {}),
      entryPoints,
      inputs,
      imports: [
        ...c.imports.map((i) => (files.has(i) ? { path: rel(i), kind: 'import-statement' } : { path: i, kind: 'import-statement', external: true })),
        ...c.dynamicImports.map((i) => (files.has(i) ? { path: rel(i), kind: 'dynamic-import' } : { path: i, kind: 'dynamic-import', external: true })),
      ],
    };
  }
  await rm(stage, { recursive: true, force: true });
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

await writeFile(join(root, 'dist/bundle-meta.json'), JSON.stringify(metafile));
const outputs = Object.entries(metafile.outputs).filter(([f]) => f.endsWith('.js'));
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`bundle: ${outputs.length} files in ${posix(relative(root, outdir))} (${kib(outputs.reduce((s, [, o]) => s + o.bytes, 0))}); entry points:`);
for (const [f, o] of outputs) if (!/chunk-/.test(f)) console.log(`  ${posix(relative(outdir, join(root, f)))} ${kib(o.bytes)}`);
