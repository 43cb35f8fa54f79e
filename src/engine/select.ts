import { DoctorError } from '../errors.ts';
import type { Rule } from './rule.ts';

/** `harvester/*` style patterns: `*` matches any run of characters, everything else literally. */
export function globToRegExp(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** Splits repeated and comma-separated flag values: `--rules a,b --rules c`. */
export function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * Applies --rules and --skip-rules. A pattern that matches no registered rule is a usage error, so a typo
 * never silently turns into an empty, passing scan.
 */
export function selectRules(all: readonly Rule[], include: readonly string[], exclude: readonly string[]): Rule[] {
  const check = (flag: string, patterns: readonly string[]) => {
    for (const pattern of patterns) {
      const re = globToRegExp(pattern);
      if (!all.some((r) => re.test(r.meta.id))) {
        throw new DoctorError(`${flag}: no rule matches "${pattern}"; list the rules with: kubectl doctor rules`);
      }
    }
  };
  check('--rules', include);
  check('--skip-rules', exclude);
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  return all.filter((r) => (inc.length === 0 || inc.some((re) => re.test(r.meta.id))) && !exc.some((re) => re.test(r.meta.id)));
}

/** The rules `--rules` and `--skip-rules` select; an empty `--rules` (an unset shell variable) is a mistake, not "every rule". */
export function rulesOfFlags(all: readonly Rule[], rules: readonly string[] | undefined, skip: readonly string[] | undefined): Rule[] {
  if (rules !== undefined && splitList(rules).length === 0) {
    throw new DoctorError(
      `--rules ${JSON.stringify(rules.join(','))} selects no rule; name rule ids or globs (kubectl doctor rules lists them), or leave --rules out to run every rule`,
    );
  }
  return selectRules(all, splitList(rules), splitList(skip));
}
