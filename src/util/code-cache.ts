// The launcher's offer to keep the code a run compiled for the runs after it (bin/kubectl-doctor: the npm package's
// and the single executable's main). V8 compiles a function the first time it is called; a code cache made as the
// bundle is compiled (Node's module.enableCompileCache, a single executable's useCodeCache) holds only the code that
// runs while it loads. Made once a scan has run, it holds what a scan runs: on the 20k-object benchmark cluster the
// first request is sent ~15-20 ms earlier and a scan takes ~30-40 ms less CPU (docs/benchmarks.md).

import { restoreYoungGenerationGrowth } from './young-generation.ts';

/** Where the launcher leaves its offer: a function that writes a cache for runs of a kind, unless it has one. */
export const KEEP_COMPILED_CODE = Symbol.for('kubectl-doctor.keep-compiled-code');

/**
 * What runs of a kind compile that others do not: a scan of a dump never compiles the live source's code (HTTP,
 * paging, the metadata page reader). The launcher keeps which kinds its cache has seen and writes it again, with
 * everything it held and this run's code, the first time a run of another kind takes the offer.
 */
export const RUN_KINDS = { snapshot: 1, cluster: 2 } as const;

/**
 * Takes the launcher's offer, if it made one: the cache is written as the process exits, when it holds everything
 * the run compiled, once the V8 flag a run changes is put back (V8 refuses a cache made with other flags). Once per
 * process; nothing without a launcher that offers (tests that call main).
 */
export function keepCompiledCode(kind: keyof typeof RUN_KINDS): void {
  const holder = globalThis as { [KEEP_COMPILED_CODE]?: unknown };
  const save = holder[KEEP_COMPILED_CODE];
  if (typeof save !== 'function') return;
  delete holder[KEEP_COMPILED_CODE];
  process.once('exit', () => {
    restoreYoungGenerationGrowth();
    save(RUN_KINDS[kind]);
  });
}
