/**
 * The fields of Harvester's types that can carry credentials, which `kubectl doctor dump` redacts
 * (src/kube/redact.ts; RuleMeta.dumpRedactions of every rule that reads them in full). Not a rule: it has no default
 * export.
 */
import type { DumpRedaction } from '../../src/kube/redact.ts';
import { SERVER_VERSION_SETTING } from './version.ts';

/** An Addon's default values, base64 YAML: installed when its spec.valuesContent is empty. */
export const ADDON_DEFAULTS_ANNOTATION = 'harvesterhci.io/addon-defaults';

/**
 * harvester/harvester (3d63c2af) pkg/apis/harvesterhci.io/v1beta1/addon.go AddonSpec.ValuesContent; when it is empty
 * the controller installs the base64 values of the harvesterhci.io/addon-defaults annotation instead
 * (pkg/controller/master/addon/common.go defaultValues), so that is redacted as the text it decodes to: the rule
 * compares both with the HelmChart's valuesContent as the controller does (isHelmchartUpdateNeeded). What the rules
 * read stays: spec.enabled/repo/chart/version, status.
 */
export const ADDONS: DumpRedaction = {
  resource: 'addons.harvesterhci.io',
  fields: [{ path: 'spec.valuesContent' }, { path: `metadata.annotations["${ADDON_DEFAULTS_ANNOTATION}"]`, decode: 'base64' }],
};

/**
 * Harvester Settings keep their value in `value` (and `default`): backup-target holds an S3 secretAccessKey,
 * ssl-certificates a privateKey (pkg/settings/settings_helper.go BackupTarget, SSLCertificate), containerd-registry
 * registry passwords (pkg/containerd/registry.go AuthConfig), http-proxy may hold proxy credentials. The rules read
 * only server-version.
 */
export const SETTINGS: DumpRedaction = {
  resource: 'settings.harvesterhci.io',
  fields: [
    { path: 'value', exceptNames: [SERVER_VERSION_SETTING] },
    { path: 'default', exceptNames: [SERVER_VERSION_SETTING] },
  ],
};
