/** /proc readings shared by the benches (Linux): a process's memory and CPU time. */
import { readFile } from 'node:fs/promises';

/** A memory figure of /proc/<pid>/status in MiB: VmRSS (default) or VmHWM (the peak). */
export function rssMiB(pid, field = 'VmRSS') {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024);
}

/** CPU seconds (user + system) used so far by a process, from /proc/<pid>/stat. */
export async function cpuSeconds(pid) {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}
