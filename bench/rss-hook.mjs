// Loaded with `node --import` by cli.bench.mjs: at exit, appends this process's
// peak RSS (KiB) and CPU time (user + system, µs) to the file named by BENCH_RSS_FILE.
import { appendFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.BENCH_RSS_FILE;
  const u = process.resourceUsage();
  if (file) appendFileSync(file, `${u.maxRSS} ${u.userCPUTime + u.systemCPUTime}\n`);
});
