import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** New space (both semi-spaces) as `--max-semi-space-size=16` allows it. */
export const NEW_SPACE_CAP_BYTES = 32 * 2 ** 20;

/**
 * Caps V8's young generation at NEW_SPACE_CAP_BYTES, as `node --max-semi-space-size=16` would. A scan parses pages
 * of JSON fast and V8 answers by growing new space up to 128 MiB, resident memory that only ever holds garbage (the
 * 60k-object benchmark: ~90 MiB of peak RSS, at the same CPU). Heap sizes are fixed when V8 starts, so the flag itself
 * cannot be set from here (v8.setFlagsFromString('--max-semi-space-size') does nothing then), and the npm launcher
 * cannot give it to node without a second process (`#!/usr/bin/env -S` is not in BusyBox). But V8 reads
 * --semi-space-growth-factor each time it grows new space: after each GC, once new space has reached the cap, growth
 * is turned off. The single executable and the npm launcher run this same code.
 */
export function capYoungGeneration(cap = NEW_SPACE_CAP_BYTES): void {
  const observer = new PerformanceObserver(() => {
    const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (newSpace && newSpace.space_size >= cap) {
      setFlagsFromString('--semi-space-growth-factor=1');
      observer.disconnect();
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}
