import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxOf, pushTo } from '../../src/util/collections.ts';

test('maxOf() is Math.max over any number of values, where spreading them as arguments throws', () => {
  const many = Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 300_001);
  assert.throws(() => Math.max(...many), RangeError);
  assert.equal(maxOf(many), 300_000);
  assert.equal(maxOf([]), Math.max());
  assert.equal(maxOf([-3, -1, -2]), -1);
  assert.ok(Number.isNaN(maxOf([1, NaN, 2])), 'NaN anywhere gives NaN, as Math.max');
});

test('pushTo() groups values under their key in the order added', () => {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < 100_000; i++) pushTo(groups, i % 3 === 0 ? 'a' : 'b', i);
  assert.equal(groups.get('a')!.length, 33_334);
  assert.deepEqual(groups.get('b')!.slice(0, 4), [1, 2, 4, 5]);
  assert.equal(groups.get('b')!.at(-1), 99_998);
});
