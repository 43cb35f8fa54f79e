import { checkpoint, deleteAction } from '../../src/plan/builder.ts';
import { defineRule, type FindingDetails, type RuleContext } from '../../src/engine/rule.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { conditionOf, field, keyOf, type KubeObject } from '../../src/kube/object.ts';
import type { JsonPatchOp } from '../../src/plan/actions.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { ageEvidence, humanDuration, MINUTE_MS, parseTime } from '../lib/age.ts';
import { CONTROLLER_IMAGE_FIELDS, controllerVersion, versionBelow, type ImageVersion } from '../lib/version.ts';
import { WRANGLER_APPLIED } from '../lib/wrangler.ts';
import { BUNDLE_DEPLOYMENTS, BUNDLES, GITREPOS } from './dump-redactions.ts';

/** One or two Bundle reconciles (5 s requeues) normally recreate a secret; at scale rollouts take minutes. */
const GRACE_MS = 5 * MINUTE_MS;
/** While the Bundle is still rolling out (2500 BDs took 6-7 min to exist, rancher/fleet#4217). */
const ROLLOUT_GRACE_MS = 15 * MINUTE_MS;
/** `spec.waitingForValues` exists and a missing secret no longer fails the whole Bundle. */
const WAITING_FOR_VALUES_SINCE = '0.14.4';
const BD_SECRET_TYPE = 'fleet.cattle.io/bundle-deployment/v1alpha1';
const BUNDLE_SECRET_TYPE = 'fleet.cattle.io/bundle-values/v1alpha1';
const POKE_ANNOTATION = 'doctor.kubectl/poke';
const OPTIONS_SECRET_ERROR = /failed to get options secret for bundledeployment ([^/\s]+)\/([^,\s]+)/i;

type Step = NonNullable<FindingDetails['remediation']>['steps'][number];

const reasons = {
  'options-secret-missing':
    'BundleDeployment {{bundleDeployment}} has valuesHash set but its options Secret {{secret}} is missing{{age}}{{waiting}}',
  'options-secret-deleting': 'The options Secret of BundleDeployment {{bundleDeployment}} is being deleted',
  'options-secret-stale-owner':
    'The options Secret of BundleDeployment {{bundleDeployment}} is owned by another BundleDeployment uid {{uid}}; garbage collection may delete it',
  'waiting-with-secret': 'BundleDeployment {{bundleDeployment}} is still waiting for values {{age}}although its options Secret exists',
  /** The Bundle's own values Secret is missing (and perhaps its Ready condition reports a BundleDeployment's). */
  'values-secret-missing': 'Bundle {{bundle}}: {{problems}}',
  /** Only the Bundle's Ready condition reports a missing options Secret. */
  'ready-reports-missing-secret': 'Bundle {{bundle}}: {{problems}}',
};

/**
 * What the rule reads of a BundleDeployment, a Bundle and a GitRepo besides their metadata: a scan keeps no more of
 * them, not a BundleDeployment's options (Helm values, kustomize, ...) nor a Bundle's resources (every manifest of it).
 */
const BUNDLE_DEPLOYMENT_FIELDS = [
  'spec.valuesHash',
  'spec.waitingForValues',
  'spec.deploymentID',
  'spec.options.helm.releaseName',
  'status.appliedDeploymentID',
];
const BUNDLE_FIELDS = ['spec.valuesHash', 'status.observedGeneration', 'status.newlyCreated', 'status.conditions'];
const GITREPO_FIELDS = ['spec.forceSyncGeneration'];

const reads = {
  bundleDeployments: { resource: 'bundledeployments.fleet.cattle.io', fields: BUNDLE_DEPLOYMENT_FIELDS },
  bundles: { resource: 'bundles.fleet.cattle.io', fields: BUNDLE_FIELDS },
  /** Metadata only: existence and ownerReferences. The values are never read. */
  secrets: { resource: 'secrets', metadataOnly: true, allNamespaces: true },
  gitRepos: { resource: 'gitrepos.fleet.cattle.io', optional: true, fields: GITREPO_FIELDS },
  fleetController: {
    resource: 'deployments.apps',
    labelSelector: 'app=fleet-controller',
    optional: true,
    allNamespaces: true,
    fields: CONTROLLER_IMAGE_FIELDS,
  },
} as const;

type Ctx = RuleContext<typeof reads, typeof reasons>;

interface Scope {
  ctx: Ctx;
  secrets: Map<string, KubeObject>;
  bundles: Map<string, KubeObject>;
  gitRepos: Map<string, KubeObject> | { unavailable: string };
  version: ImageVersion | undefined;
  fleet: ImageVersion | string;
}

export default defineRule({
  meta: {
    id: 'fleet/missing-values-secret',
    summary: 'A Fleet BundleDeployment or Bundle expects a Helm values secret that is missing',
    severity: 'error',
    ecosystem: 'fleet',
    fixable: 'destructive',
    thresholds: {
      grace: {
        ms: GRACE_MS,
        minAge: true,
        describe: 'a BundleDeployment or Bundle (or its Ready condition) younger than this is given time to get its Secret',
      },
      rolloutGrace: { ms: ROLLOUT_GRACE_MS, minAge: true, describe: 'the same while the Bundle is rolling out' },
    },
    reads,
    dumpRedactions: [WRANGLER_APPLIED, BUNDLES, BUNDLE_DEPLOYMENTS, GITREPOS],
    reasons,
    explain: {
      detects:
        'A BundleDeployment with a non-empty `spec.valuesHash` whose options Secret (same namespace and name, type ' +
        '`fleet.cattle.io/bundle-deployment/v1alpha1`) is missing past a grace period (5 min; 15 min while the Bundle ' +
        'is rolling out), a BundleDeployment still `spec.waitingForValues: true` past it, an options Secret owned by ' +
        'another (deleted) BundleDeployment, a Bundle with `spec.valuesHash` whose `fleet.cattle.io/bundle-values/v1alpha1` ' +
        'Secret is missing, and Bundles whose Ready condition says `failed to get options secret for bundledeployment`. ' +
        '`valuesHash: ""` means no values and no secret: never reported.',
      why:
        'Since Fleet v0.10.11/v0.11.6/v0.12.1/v0.13.0 Helm values live in per-BundleDeployment secrets written by the ' +
        'fleet-controller and owned by the BundleDeployment. Deleting a BundleDeployment garbage-collects its secret ' +
        '(rancher/fleet#3687); normally the next Bundle reconcile recreates both. Up to v0.14.3 a missing secret for an ' +
        'existing BundleDeployment is a terminal targeting error for the whole Bundle (no requeue, the code that would ' +
        'recreate the secret is never reached); from v0.14.4 the BundleDeployment is parked with `waitingForValues` and ' +
        'the secret is not rewritten while it waits. Before v0.12.9/v0.13.5 a secret left from a deleted ' +
        'BundleDeployment kept the old owner uid, so the garbage collector could delete the recreated one.',
      evidence:
        'The BundleDeployment (valuesHash, waitingForValues, deploymentID vs appliedDeploymentID), its Bundle and the ' +
        'Bundle Ready message, the expected Secret (name, namespace, type) and, when one exists, its owner references ' +
        '(Secrets are read metadata-only), the Fleet version from the fleet-controller image, ages and the grace period.',
      remediation: [
        'Wait within the grace period: the secret is normally recreated by a later reconcile.',
        'Annotate the Bundle (doctor.kubectl/poke) to trigger a reconcile without changing its spec (safe).',
        'GitRepo-owned Bundles: increment GitRepo spec.forceSyncGeneration; this also re-runs fleet apply, which ' +
          'recreates a missing Bundle values secret (safe). Never edit Bundle spec.forceSyncGeneration.',
        'Persistent missing options secret: reset spec.valuesHash to "" on the BundleDeployment (with ' +
          'waitingForValues: true on v0.14.4+, with paused: true before) and annotate the Bundle again, so the ' +
          "controller writes a fresh secret and hash (disruptive; derived from upstream's repairHashMismatch).",
        'Last resort: delete the BundleDeployment (destructive: the agent Helm-uninstalls the release downstream before ' +
          'the controller recreates it).',
        'Upgrade Fleet to v0.14.4 or later (v0.15.3+ also self-heals hash mismatches).',
        'Never hand-write the options secret: its content must equal the Bundle-derived values and a wrong hash blocks the agent.',
      ],
      references: [
        'https://github.com/rancher/fleet/issues/3687',
        'https://github.com/rancher/fleet/issues/4144',
        'https://github.com/rancher/fleet/issues/4253',
        'https://github.com/rancher/fleet/pull/4707',
        'https://github.com/rancher/fleet/issues/4962',
        'https://github.com/rancher/fleet/pull/4217',
        'https://fleet.rancher.io/ref-crds',
      ],
    },
  },

  check(ctx) {
    const secrets = new Map(ctx.list('secrets').map((s) => [keyOf({ namespace: s.metadata.namespace, name: s.metadata.name ?? '' }), s]));
    const bundles = new Map(ctx.list('bundles').map((b) => [keyOf({ namespace: b.metadata.namespace, name: b.metadata.name ?? '' }), b]));
    const repos = ctx.optional('gitRepos');
    const deployments = ctx.optional('fleetController');
    const version = Array.isArray(deployments) ? controllerVersion(deployments, /(^|\/)fleet[:@]/) : undefined;
    const scope: Scope = {
      ctx,
      secrets,
      bundles,
      version,
      gitRepos: Array.isArray(repos)
        ? new Map(repos.map((r) => [keyOf({ namespace: r.metadata.namespace, name: r.metadata.name ?? '' }), r]))
        : repos,
      fleet: !Array.isArray(deployments)
        ? `unavailable: ${deployments.unavailable}`
        : (version ?? 'not found (no Deployment labelled app=fleet-controller with a versioned rancher/fleet image)'),
    };

    // Bundle Ready conditions naming a BundleDeployment: evidence for that BD, or a finding of their own.
    const conditionByBd = new Map<string, { bundle: KubeObject; message: string }>();
    for (const bundle of bundles.values()) {
      const ready = conditionOf(bundle, 'Ready');
      const m = ready?.message?.match(OPTIONS_SECRET_ERROR);
      if (ready && m) conditionByBd.set(`${m[1]}/${m[2]}`, { bundle, message: ready.message! });
    }

    const findings: Finding[] = [];
    const explained = new Set<string>();
    for (const bd of ctx.list('bundleDeployments')) {
      if (bd.metadata.deletionTimestamp) continue;
      const finding = checkBundleDeployment(scope, bd, conditionByBd);
      if (finding) {
        findings.push(finding);
        explained.add(keyOf({ namespace: bd.metadata.namespace, name: bd.metadata.name ?? '' }));
      }
    }
    for (const bundle of bundles.values()) {
      if (bundle.metadata.deletionTimestamp) continue;
      const finding = checkBundle(scope, bundle, conditionByBd, explained);
      if (finding) findings.push(finding);
    }
    return findings;
  },
});

function bundleOf(scope: Scope, bd: KubeObject): KubeObject | undefined {
  const labels = bd.metadata.labels ?? {};
  const name = labels['fleet.cattle.io/bundle-name'];
  const ns = labels['fleet.cattle.io/bundle-namespace'];
  return name && ns ? scope.bundles.get(`${ns}/${name}`) : undefined;
}

function rollingOut(bundle: KubeObject | undefined): boolean {
  if (!bundle) return false;
  const observed = field(bundle, 'status', 'observedGeneration');
  const newlyCreated = field(bundle, 'status', 'newlyCreated');
  return (
    (typeof observed === 'number' && bundle.metadata.generation !== undefined && observed !== bundle.metadata.generation) ||
    (typeof newlyCreated === 'number' && newlyCreated > 0)
  );
}

function graceOf(scope: Scope, bundle: KubeObject | undefined): { ms: number; rollingOut: boolean } {
  const rolling = rollingOut(bundle);
  return { ms: scope.ctx.minAgeMs ?? (rolling ? ROLLOUT_GRACE_MS : GRACE_MS), rollingOut: rolling };
}

function ownerOf(secret: KubeObject): { kind: string; name: string; uid: string } | undefined {
  const refs = secret.metadata.ownerReferences ?? [];
  const ref = refs.find((r) => r.controller) ?? refs[0];
  return ref ? { kind: ref.kind, name: ref.name, uid: ref.uid } : undefined;
}

function checkBundleDeployment(
  scope: Scope,
  bd: KubeObject,
  conditionByBd: Map<string, { bundle: KubeObject; message: string }>,
): Finding | undefined {
  const { ctx } = scope;
  const valuesHash = field(bd, 'spec', 'valuesHash');
  if (typeof valuesHash !== 'string' || valuesHash === '') return undefined;
  const key = keyOf({ namespace: bd.metadata.namespace, name: bd.metadata.name ?? '' });
  const created = parseTime(bd.metadata.creationTimestamp);
  const bundle = bundleOf(scope, bd);
  const grace = graceOf(scope, bundle);
  const ageMs = created === undefined ? undefined : ctx.now.getTime() - created;
  if (ageMs !== undefined && ageMs < grace.ms) return undefined;

  const secret = scope.secrets.get(key);
  const waiting = field(bd, 'spec', 'waitingForValues') === true;
  const owner = secret ? ownerOf(secret) : undefined;
  const staleOwner = secret !== undefined && owner !== undefined && owner.uid !== bd.metadata.uid;
  const deleting = secret?.metadata.deletionTimestamp !== undefined;
  if (secret && !staleOwner && !deleting && !waiting) return undefined;

  const condition = conditionByBd.get(key);
  const evidence: Record<string, unknown> = {
    valuesHash,
    waitingForValues: waiting,
    deploymentID: field(bd, 'spec', 'deploymentID'),
    appliedDeploymentID: field(bd, 'status', 'appliedDeploymentID'),
    optionsSecret: {
      namespace: bd.metadata.namespace,
      name: bd.metadata.name,
      expectedType: BD_SECRET_TYPE,
      found: secret !== undefined,
      ...(secret ? { owner: owner ?? 'none', ownerIsThisBundleDeployment: !staleOwner, deleting, typeChecked: false } : {}),
    },
    bundle: bundle ? keyOf({ namespace: bundle.metadata.namespace, name: bundle.metadata.name ?? '' }) : 'not found',
    ...(condition ? { bundleReady: { status: conditionOf(condition.bundle, 'Ready')?.status, message: condition.message } } : {}),
    gitRepo: gitRepoName(bundle) ?? 'none',
    fleet: scope.fleet,
    ...(ageMs !== undefined ? { age: ageEvidence(ageMs) } : {}),
    gracePeriod: { ...ageEvidence(grace.ms), bundleRollingOut: grace.rollingOut },
  };

  let severity: 'error' | 'warning' = 'error';
  let reason: keyof typeof reasons;
  const data: Record<string, string> = { bundleDeployment: key, secret: key };
  if (!secret) {
    reason = 'options-secret-missing';
    data.age = ageMs !== undefined ? ` (age ${humanDuration(ageMs)})` : '';
    data.waiting = waiting ? ', waiting for values' : '';
  } else if (staleOwner || deleting) {
    severity = 'warning';
    reason = deleting ? 'options-secret-deleting' : 'options-secret-stale-owner';
    if (!deleting) data.uid = owner!.uid;
  } else {
    severity = 'warning';
    reason = 'waiting-with-secret';
    data.age = ageMs !== undefined ? `after ${humanDuration(ageMs)} ` : '';
  }
  // A ladder, not a menu: --fix takes one rung and stops at the checkpoint after it; the next rung is only for a
  // finding that is still there once the controller had time to act on the previous one.
  const steps: Step[] = [
    ...(bundle ? [pokeStep(scope, bundle, 'Annotate the Bundle to trigger a reconcile (spec unchanged)', '')] : []),
    ...gitRepoSteps(scope, bundle),
  ];
  steps.push(...upgradeSteps(scope.version));
  if (!staleOwner && !deleting) {
    if (steps.some((s) => s.action.type !== 'manual')) {
      steps.push(
        rung(
          `Wait for the fleet-controller to reconcile the Bundle (normally seconds; allow ${humanDuration(GRACE_MS)}), then run kubectl doctor again. ` +
            `Go on only if Secret ${key} is still missing: the next rung resets the BundleDeployment's values hash (disruptive).`,
        ),
      );
    }
    steps.push(resetStep(scope, bd, valuesHash));
    if (bundle)
      steps.push(
        pokeStep(
          scope,
          bundle,
          'Annotate the Bundle again so the controller rewrites the BundleDeployment and a fresh options Secret',
          '-after-reset',
        ),
      );
    steps.push(
      rung(
        `Wait until the fleet-controller has rewritten BundleDeployment ${key} (spec.valuesHash set again, waitingForValues cleared) and created Secret ${key} ` +
          `(allow ${humanDuration(GRACE_MS)}), then run kubectl doctor again. Go on only if it is still missing: the last rung deletes the BundleDeployment, ` +
          'and the agent Helm-uninstalls the release downstream before it is recreated (destructive).',
      ),
    );
    steps.push(deleteStep(scope, bd));
  }
  return ctx.finding(bd, {
    reason,
    data,
    severity,
    evidence,
    remediation: {
      summary:
        'Let the fleet-controller rewrite the options Secret: trigger a Bundle reconcile, then reset the values hash if it stays missing; never hand-write the Secret',
      steps,
    },
  });
}

function checkBundle(
  scope: Scope,
  bundle: KubeObject,
  conditionByBd: Map<string, { bundle: KubeObject; message: string }>,
  explained: Set<string>,
): Finding | undefined {
  const { ctx } = scope;
  const key = keyOf({ namespace: bundle.metadata.namespace, name: bundle.metadata.name ?? '' });
  const grace = graceOf(scope, bundle);
  const problems: string[] = [];
  const evidence: Record<string, unknown> = {};
  let severity: 'error' | 'warning' = 'warning';

  const valuesHash = field(bundle, 'spec', 'valuesHash');
  const created = parseTime(bundle.metadata.creationTimestamp);
  const ageMs = created === undefined ? undefined : ctx.now.getTime() - created;
  if (typeof valuesHash === 'string' && valuesHash !== '' && !scope.secrets.has(key) && (ageMs === undefined || ageMs >= grace.ms)) {
    severity = 'error';
    problems.push(`its values Secret ${key} is missing`);
    evidence.valuesHash = valuesHash;
    evidence.valuesSecret = {
      namespace: bundle.metadata.namespace,
      name: bundle.metadata.name,
      expectedType: BUNDLE_SECRET_TYPE,
      found: false,
    };
  }

  const ready = conditionOf(bundle, 'Ready');
  const entry = [...conditionByBd.entries()].find(([, c]) => c.bundle === bundle);
  if (ready && entry && !explained.has(entry[0])) {
    const since = parseTime(ready.lastUpdateTime) ?? parseTime(ready.lastTransitionTime);
    const conditionAge = since === undefined ? undefined : ctx.now.getTime() - since;
    if (conditionAge === undefined || conditionAge >= grace.ms) {
      const bdSecret = scope.secrets.has(entry[0]);
      if (!bdSecret) severity = 'error';
      problems.push(
        bdSecret
          ? `its Ready condition still reports a missing options Secret for ${entry[0]}, which exists now`
          : `its Ready condition reports a missing options Secret for BundleDeployment ${entry[0]}`,
      );
      evidence.bundleReady = {
        status: ready.status,
        reason: ready.reason,
        message: ready.message,
        ...(conditionAge !== undefined ? { age: ageEvidence(conditionAge) } : {}),
      };
      evidence.optionsSecret = { name: entry[0], expectedType: BD_SECRET_TYPE, found: bdSecret };
    }
  }
  if (problems.length === 0) return undefined;
  evidence.gitRepo = gitRepoName(bundle) ?? 'none';
  evidence.fleet = scope.fleet;
  if (ageMs !== undefined) evidence.age = ageEvidence(ageMs);
  evidence.gracePeriod = { ...ageEvidence(grace.ms), bundleRollingOut: grace.rollingOut };

  const repo = gitRepoName(bundle);
  const steps: Step[] = [
    pokeStep(scope, bundle, 'Annotate the Bundle to trigger a reconcile (spec unchanged)', ''),
    ...gitRepoSteps(scope, bundle),
  ];
  if (!repo && evidence.valuesSecret) {
    steps.push({
      title: 'Re-run fleet apply for this Bundle (it writes the values Secret and spec.valuesHash together)',
      risk: 'safe',
      reversible: true,
      action: {
        type: 'manual',
        instructions: `fleet apply -n ${shellQuote(bundle.metadata.namespace ?? '')} ${shellQuote(bundle.metadata.name ?? '')} <the bundle's directory>`,
      },
    });
  }
  steps.push(...upgradeSteps(scope.version));
  return ctx.finding(bundle, {
    reason: evidence.valuesSecret ? 'values-secret-missing' : 'ready-reports-missing-secret',
    data: { bundle: key, problems: problems.join('; ') },
    severity,
    evidence,
    remediation: { summary: 'Trigger a reconcile so Fleet recreates the values secrets; never hand-write them', steps },
  });
}

function gitRepoName(bundle: KubeObject | undefined): string | undefined {
  const name = bundle?.metadata.labels?.['fleet.cattle.io/repo-name'];
  return name ? keyOf({ namespace: bundle!.metadata.namespace, name }) : undefined;
}

function pokeStep(scope: Scope, bundle: KubeObject, title: string, suffix: string): Step {
  return {
    title,
    risk: 'safe',
    reversible: true,
    action: {
      type: 'merge-patch',
      target: scope.ctx.targetOf(bundle),
      patch: { metadata: { annotations: { [POKE_ANNOTATION]: `${scope.ctx.now.toISOString()}${suffix}` } } },
    },
  };
}

function gitRepoSteps(scope: Scope, bundle: KubeObject | undefined): Step[] {
  const repo = gitRepoName(bundle);
  if (!repo || !bundle) return [];
  const title = `Increment GitRepo ${repo} spec.forceSyncGeneration (re-runs fleet apply, which also rewrites a missing Bundle values Secret)`;
  const found = scope.gitRepos instanceof Map ? scope.gitRepos.get(repo) : undefined;
  if (!found) {
    const [ns, name] = [bundle.metadata.namespace ?? '', bundle.metadata.labels!['fleet.cattle.io/repo-name']!];
    return [
      {
        title: `${title} (GitRepo ${scope.gitRepos instanceof Map ? 'not found' : `unavailable: ${scope.gitRepos.unavailable}`})`,
        risk: 'safe',
        reversible: true,
        action: {
          type: 'manual',
          instructions: `kubectl edit gitrepos.fleet.cattle.io ${shellQuote(name)} -n ${shellQuote(ns)}  # increment spec.forceSyncGeneration by one`,
        },
      },
    ];
  }
  const current = field(found, 'spec', 'forceSyncGeneration');
  const patch: JsonPatchOp[] = [];
  if (typeof current === 'number') {
    patch.push(
      { op: 'test', path: '/spec/forceSyncGeneration', value: current },
      { op: 'replace', path: '/spec/forceSyncGeneration', value: current + 1 },
    );
  } else {
    patch.push({ op: 'add', path: '/spec/forceSyncGeneration', value: 1 });
  }
  return [{ title, risk: 'safe', reversible: true, action: { type: 'json-patch', target: scope.ctx.targetOf(found), patch } }];
}

function rung(instructions: string): Step {
  return checkpoint('Checkpoint: let the controller act before the next rung', instructions);
}

function resetStep(scope: Scope, bd: KubeObject, valuesHash: string): Step {
  const waitingSupported = scope.version !== undefined && !versionBelow(scope.version.version, WAITING_FOR_VALUES_SINCE);
  const patch: JsonPatchOp[] = [
    { op: 'test', path: '/spec/valuesHash', value: valuesHash },
    { op: 'replace', path: '/spec/valuesHash', value: '' },
    waitingSupported ? { op: 'add', path: '/spec/waitingForValues', value: true } : { op: 'add', path: '/spec/paused', value: true },
  ];
  const why = waitingSupported
    ? `Fleet ${scope.version!.version}: waitingForValues keeps the agent from deploying until the secret is rewritten`
    : `${scope.version ? `Fleet ${scope.version.version}` : 'Fleet version unknown'}: paused first so the agent does not deploy without values; the controller's rewrite of the spec unpauses it`;
  return {
    title: `Reset the BundleDeployment's values hash so the controller writes a fresh options Secret (${why})`,
    risk: 'disruptive',
    reversible: false,
    action: { type: 'json-patch', target: scope.ctx.targetOf(bd), patch },
  };
}

function deleteStep(scope: Scope, bd: KubeObject): Step {
  const release = field(bd, 'spec', 'options', 'helm', 'releaseName');
  const cluster = bd.metadata.labels?.['fleet.cattle.io/cluster'];
  return {
    title: `Last resort: delete the BundleDeployment; the agent Helm-uninstalls ${typeof release === 'string' ? `release ${release}` : 'its release'}${cluster ? ` on cluster ${cluster}` : ''} before the controller recreates and reinstalls it`,
    risk: 'destructive',
    reversible: false,
    action: deleteAction(scope.ctx.targetOf(bd)),
  };
}

function upgradeSteps(version: ImageVersion | undefined): Step[] {
  if (version && !versionBelow(version.version, WAITING_FOR_VALUES_SINCE)) return [];
  return [
    {
      title: `Upgrade Fleet ${version ? version.version : '(version unknown)'} to v${WAITING_FOR_VALUES_SINCE} or later, where a missing options secret no longer fails the whole Bundle`,
      risk: 'disruptive',
      reversible: false,
      action: {
        type: 'manual',
        role: 'aside',
        instructions: `helm upgrade fleet fleet/fleet -n cattle-fleet-system --reuse-values --version <${WAITING_FOR_VALUES_SINCE} or later>  # or upgrade Rancher, which ships Fleet`,
      },
    },
  ];
}
