/** Timers set through `later` and cancelled all at once by `clear`: a harness server's close leaves none behind. */
export function trackedTimers(): { later(ms: number, run: () => void): void; clear(): void } {
  const pending = new Set<NodeJS.Timeout>();
  return {
    later(ms, run) {
      const timer = setTimeout(() => {
        pending.delete(timer);
        run();
      }, ms);
      pending.add(timer);
    },
    clear() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
    },
  };
}
