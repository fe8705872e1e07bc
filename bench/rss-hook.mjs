// Loaded with `node --import` by cli.bench.mjs: at exit, appends this process's
// peak RSS (KiB) to the file named by BENCH_RSS_FILE.
import { appendFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.BENCH_RSS_FILE;
  if (file) appendFileSync(file, `${process.resourceUsage().maxRSS}\n`);
});
