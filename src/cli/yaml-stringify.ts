/**
 * YAML output (-o yaml), imported lazily by ./output.ts only. In the bundle (scripts/bundle.mjs)
 * this import is served by yaml's Document and writer alone, in a chunk without the parser: half
 * the package less to load for `extensions describe`, whose default output is YAML.
 */
export { stringify } from 'yaml';
