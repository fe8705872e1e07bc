/** The listr2 task tree (one task per extension, its current step as output), for interactive terminals. */
import type { InstallerEvent, Reporter } from '../../installer/events.js';

interface Slot {
  resolve: () => void;
  reject: (e: Error) => void;
  task?: { title: string; output: string; skip: (m?: string) => void } | undefined;
  settled: boolean;
}

export async function listrReporter(names: readonly string[]): Promise<Reporter> {
  const { Listr } = await import('listr2');
  const slots = new Map<string, Slot>();
  const tasks = names.map((n) => {
    const slot: Slot = { resolve: () => undefined, reject: () => undefined, settled: false };
    slots.set(n, slot);
    return {
      title: n,
      task: (_ctx: unknown, task: Slot['task']) =>
        new Promise<void>((res, rej) => {
          slot.task = task;
          slot.resolve = () => {
            slot.settled = true;
            res();
          };
          slot.reject = (e) => {
            slot.settled = true;
            rej(e);
          };
        }),
    };
  });
  // registerSignalListeners: false — listr2's own SIGINT handler calls process.exit(127), which would skip
  // cancelling the children, releasing the lock and recording the interruption (withInterrupt does that).
  const listr = new Listr(tasks as never, { concurrent: true, exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseSubtasks: false } as never });
  const running = listr.run().catch(() => undefined);
  // Events may arrive before listr started a task: queue them.
  const queue: InstallerEvent[] = [];
  const apply = (e: InstallerEvent): boolean => {
    if (e.type === 'info' || e.type === 'log') return true;
    const slot = slots.get(e.extension);
    if (!slot) return true;
    if (!slot.task) return false;
    if (e.type === 'step') slot.task.output = `${e.title}: ${e.state}${e.durationMs !== undefined ? ` (${(e.durationMs / 1000).toFixed(1)}s)` : ''}${e.message ? ` - ${e.message}` : ''}`;
    else if (e.state === 'done' || e.state === 'unchanged') {
      slot.task.title = `${e.extension}: ${e.state === 'unchanged' ? 'unchanged' : 'done'}${e.message ? ` (${e.message})` : ''}`;
      slot.resolve();
    } else if (e.state === 'failed') slot.reject(new Error(`${e.extension}: ${e.message ?? 'failed'}`));
    else if (e.state === 'skipped') {
      slot.task.skip(`${e.extension}: ${e.message ?? 'skipped'}`);
      slot.resolve();
    }
    return true;
  };
  const timer = setInterval(() => {
    while (queue.length > 0 && apply(queue[0] as InstallerEvent)) queue.shift();
  }, 50);
  return {
    event(e) {
      if (queue.length > 0 || !apply(e)) queue.push(e);
    },
    async close() {
      while (queue.length > 0 && apply(queue[0] as InstallerEvent)) queue.shift();
      clearInterval(timer);
      for (const s of slots.values()) if (!s.settled) s.resolve();
      await running;
    },
  };
}
