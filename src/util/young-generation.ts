import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * New space (both semi-spaces) as `--max-semi-space-size=8` allows it. Measured on the benchmark's clusters (npm, 11
 * runs each at 60k objects): a 32 MiB cap peaked at 183 MiB RSS for 0.92 s of CPU, 16 MiB at 163 MiB for 0.95 s, 8 MiB
 * at 152 MiB for 0.98 s; at 20k, 16 MiB took 13 MiB off the peak at the same CPU.
 */
export const NEW_SPACE_CAP_BYTES = 16 * 2 ** 20;

/**
 * Caps V8's young generation at NEW_SPACE_CAP_BYTES, as `node --max-semi-space-size=8` would. A scan parses pages
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
      capped = true;
      observer.disconnect();
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** V8's --semi-space-growth-factor when nothing sets it. */
const DEFAULT_GROWTH_FACTOR = 2;
let capped = false;

/**
 * Puts back the flag capYoungGeneration changed. V8 checks a code cache against the flags it was made with: one made
 * after the cap would be refused by every later run, which starts with V8's default (src/util/code-cache.ts).
 */
export function restoreYoungGenerationGrowth(): void {
  if (capped) setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  capped = false;
}
