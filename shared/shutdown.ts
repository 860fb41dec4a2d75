/**
 * Runs `stop` once on the first SIGTERM or SIGINT, then exits 0: the graceful stop every lab
 * process (API replica, worker) does. A second signal while stopping is ignored.
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      await stop(signal);
      process.exit(0);
    });
  }
}
