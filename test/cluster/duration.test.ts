import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../src/cluster/duration.ts';
import { DoctorError, ExitCode } from '../../src/errors.ts';

describe('parseDuration', () => {
  test('a plain integer is seconds', () => {
    assert.equal(parseDuration('30', 'request-timeout'), 30_000);
    assert.equal(parseDuration('1', 'request-timeout'), 1_000);
  });

  test('"0" means no timeout', () => {
    assert.equal(parseDuration('0', 'request-timeout'), 0);
    assert.equal(parseDuration('0s', 'request-timeout'), 0);
  });

  test('Go durations', () => {
    const cases: Array<[string, number]> = [
      ['1s', 1_000],
      ['2m', 120_000],
      ['1h30m', 5_400_000],
      ['500ms', 500],
      ['1.5s', 1_500],
      ['1.1s', 1_100],
      ['.5s', 500],
      ['5.s', 5_000],
      ['1h1m1s1ms', 3_661_001],
      ['+2s', 2_000],
      ['1500us', 2], // 1.5ms rounds up to whole milliseconds
      ['2000000ns', 2],
      ['1µs', 1], // sub-millisecond rounds up to 1 so it never means "no timeout"
      ['1μs', 1],
    ];
    for (const [input, ms] of cases) assert.equal(parseDuration(input, 'request-timeout'), ms, input);
  });

  test('invalid values are a one-line DoctorError naming the flag', () => {
    for (const bad of ['abc', '', '1x', '1.5', 's', '.s', '1 s', '1d', '10e3s', '1s2', '0x10']) {
      assert.throws(
        () => parseDuration(bad, 'request-timeout'),
        (err: unknown) => {
          assert.ok(err instanceof DoctorError, `${JSON.stringify(bad)} should fail`);
          assert.equal(err.exitCode, ExitCode.CouldNotRun);
          assert.equal(err.message, `invalid --request-timeout ${JSON.stringify(bad)}: use a duration such as 30s, 2m or 0 for no timeout`);
          return true;
        },
      );
    }
  });

  test('negative values say so', () => {
    for (const bad of ['-1', '-1s', '-5s', '-.5m']) {
      assert.throws(() => parseDuration(bad, 'min-age', '0s or 10m'), {
        message: `invalid --min-age ${JSON.stringify(bad)}: a duration cannot be negative; use a duration such as 0s or 10m`,
      });
    }
  });

  test('the flag name comes from the argument', () => {
    assert.throws(() => parseDuration('abc', 'min-age'), /^DoctorError: invalid --min-age "abc":/);
    assert.throws(() => parseDuration('abc', '--min-age'), /invalid --min-age "abc":/);
  });

  test('values beyond Go int64 nanoseconds are rejected', () => {
    assert.throws(() => parseDuration('3000000h', 'request-timeout'), DoctorError);
    assert.equal(parseDuration('2000000h', 'request-timeout'), 2_000_000 * 3_600_000);
  });
});
