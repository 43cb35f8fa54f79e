import { test } from 'node:test';
import assert from 'node:assert/strict';
import { visible } from '../../src/util/terminal.ts';

test('visible() shows control characters as escapes and leaves ordinary text alone', () => {
  assert.equal(visible('plain text: ü, 日本, emoji 🙂'), 'plain text: ü, 日本, emoji 🙂');
  assert.equal(visible('a\u001b]52;c;cHduZWQ=\u0007b'), 'a\\e]52;c;cHduZWQ=\\x07b');
  assert.equal(visible('x\ntouch /tmp/pwned\r\n#'), 'x\\ntouch /tmp/pwned\\r\\n#');
  assert.equal(visible('tab\there'), 'tab\\there');
  assert.equal(visible('\u009b31m C1 CSI, DEL \u007f'), '\\x9b31m C1 CSI, DEL \\x7f');
  assert.equal(visible('bidi \u202eevil\u2066'), 'bidi \\u202eevil\\u2066');
  assert.equal(visible('two\nlines\u001b[2J', { keepNewlines: true }), 'two\nlines\\e[2J');
});

test('visible() is linear: a megabyte of escapes takes one pass', () => {
  const text = '\u001b'.repeat(1 << 20);
  const out = visible(text);
  assert.equal(out.length, 2 << 20);
});
