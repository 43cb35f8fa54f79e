// A test rule for the --fix machinery: ConfigMaps labelled state=broken, with a safe reversible relabel, then a
// destructive delete, then a manual note. Run through the real CLI code (main() with { rules }), in-process by
// test/e2e/fix.test.ts and as a process on a real terminal through ./doctor-with-test-rule.ts.
import { defineRule } from '../../src/engine/rule.ts';

export const LABEL = 'e2e.kubectl-doctor.io/state';

/** Flags ConfigMaps labelled state=broken: relabel (safe, reversible), then delete (destructive). */
export const labelled = defineRule({
  meta: {
    id: 'e2e/labelled-configmap',
    summary: 'test rule',
    severity: 'error',
    ecosystem: 'e2e',
    fixable: 'destructive',
    reads: { cms: { resource: 'configmaps', labelSelector: `${LABEL}=broken` } },
    reasons: { found: '{{message}}' },
    explain: { detects: '', why: '', evidence: '', remediation: [], references: [] },
  },
  check(ctx) {
    return ctx.list('cms').map((cm) => {
      const target = ctx.targetOf(cm);
      return ctx.finding(cm, {
        reason: 'found',
        data: { message: 'labelled broken' },
        evidence: { label: cm.metadata.labels?.[LABEL] },
        remediation: {
          summary: 'relabel, then delete',
          steps: [
            {
              title: 'relabel',
              risk: 'safe',
              reversible: true,
              action: {
                type: 'json-patch',
                target,
                patch: [
                  { op: 'test', path: '/metadata/resourceVersion', value: cm.metadata.resourceVersion },
                  { op: 'test', path: `/metadata/labels/${LABEL.replace('/', '~1')}`, value: 'broken' },
                  { op: 'replace', path: `/metadata/labels/${LABEL.replace('/', '~1')}`, value: 'fixed' },
                ],
              },
            },
            {
              title: 'delete',
              risk: 'destructive',
              reversible: false,
              action: { type: 'delete', target, preconditions: { uid: cm.metadata.uid!, resourceVersion: cm.metadata.resourceVersion! } },
            },
            { title: 'note', risk: 'safe', reversible: true, action: { type: 'manual', instructions: 'look at it' } },
          ],
        },
      });
    });
  },
});
