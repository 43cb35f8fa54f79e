// warningTexts against the cases of apimachinery's own tests of the parser client-go uses (k8s.io/apimachinery
// pkg/util/net http_test.go: TestParseWarningHeader, TestParseWarningHeaders), then what a hostile server may send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { warningTexts } from '../../src/cluster/warnings.ts';
import { ServerWarnings } from '../../src/cli/server-warnings.ts';

test("one warning: the malformed are dropped, the well-formed read as apimachinery's ParseWarningHeader reads them", () => {
  const cases: [header: string, texts: string[]][] = [
    // invalid cases
    ['', []],
    ['A B', []],
    ['1 - "text"', []],
    ['A - "text"', []],
    ['  299 - "text\\"\\\\\\a\\b\\c"  "Tue, 15 Nov 1994 08:12:31 GMT ', []],
    ['  299 - "text\\"\\\\\\a\\b\\c"  "Tue, 15 Nov 1994 08:12:31 GMT" other', []],
    ['  299 agent\u0000name "text"', []],
    ['  299 - "text\u0000"content', []],
    // valid cases
    ['299 - "text"', ['text']],
    ['299 - "text\\"\\\\\\a\\b\\c"', ['text"\\abc']],
    ['  299 - "text\\"\\\\\\a\\b\\c"  ', ['text"\\abc']],
    ['  299 - "text\\"\\\\\\a\\b\\c"  "Tue, 15 Nov 1994 08:12:31 GMT" ', ['text"\\abc']],
    ['  299 - "text\\"\\\\\\a\\b\\c"  "Tue, 15 Nov 1994 08:12:31 GMT" , ', ['text"\\abc']],
    ['  299 - "text\\"\\\\\\a\\b\\c"  , ', ['text"\\abc']],
    // What follows the comma is not a warning: read up to there.
    ['  299 - "text\\"\\\\\\a\\b\\c"  "Tue, 15 Nov 1994 08:12:31 GMT" , remainder ', ['text"\\abc']],
    ['  299 - "text\\"\\\\\\a\\b\\c"  ,remainder text,second remainder', ['text"\\abc']],
    [' 299 - "Test of Iñtërnâtiônàlizætiøn,💝🐹🌇⛔" ', ['Test of Iñtërnâtiônàlizætiøn,💝🐹🌇⛔']],
    // client-go's handleWarnings: only code 299, only with a text.
    ['321 - "text"', []],
    ['299 - ""', []],
  ];
  for (const [header, texts] of cases) assert.deepEqual(warningTexts(header), texts, JSON.stringify(header));
});

test('several headers, several warnings to a header; a header is read up to its first malformed warning', () => {
  assert.deepEqual(
    warningTexts([
      '299 - "warning 1.1",299 - "warning 1.2"',
      '299 - "warning 2", 299 - "warning unquoted',
      ' 299 - "warning 3.1" ,  299 - "warning 3.2" ',
    ]),
    ['warning 1.1', 'warning 1.2', 'warning 2', 'warning 3.1', 'warning 3.2'],
  );
  assert.deepEqual(warningTexts(undefined), []);
});

test('hostile warnings: control characters make a warning malformed; any size is read in one pass', () => {
  for (const text of ['\u001b]52;c;aGk=\u0007', 'line\nbreak', 'C1 \u009b31m', 'DEL \u007f']) {
    assert.deepEqual(warningTexts(`299 - "${text}"`), [], JSON.stringify(text));
  }
  // Escaped quotes and backslashes by the hundred thousand, and as many warnings to one header.
  const long = `299 - "${'\\"\\\\'.repeat(100_000)}"`;
  assert.equal(warningTexts(long)[0], '"\\'.repeat(100_000));
  assert.equal(warningTexts(Array.from({ length: 100_000 }, (_, i) => `299 - "w${i}"`).join(',')).length, 100_000);
  assert.deepEqual(warningTexts(`299 - "${'\\'.repeat(200_001)}`), []);
});

test('on writes printed as kubectl prints them, "Warning: text" once, escaped; on reads a -v diagnostic', () => {
  const written: string[] = [];
  const debugged: string[] = [];
  const warnings = new ServerWarnings({ write: (t: string) => written.push(t) }, (m) => debugged.push(m));
  const sink = warnings.sink();
  const write = { method: 'PATCH', path: '/api/v1/namespaces/a/configmaps/b' };
  sink('admission policy audit: ConfigMaps here are watched', write);
  sink('admission policy audit: ConfigMaps here are watched', write);
  assert.deepEqual(written, ['Warning: admission policy audit: ConfigMaps here are watched\n']);
  warnings.sink('prod\u001b[2J')('Ünïcode and \u009b a C1 control', { method: 'DELETE', path: '/x' });
  assert.deepEqual(written.slice(1), ['Warning: context prod\\e[2J: Ünïcode and \\x9b a C1 control\n']);
  // A scan's reads: a diagnostic (-v), not a warning, whatever the server deprecates.
  warnings.sink()('v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice', {
    method: 'GET',
    path: '/api/v1/endpoints',
  });
  assert.equal(written.length, 2);
  assert.deepEqual(debugged, [
    'the API server warns on GET /api/v1/endpoints: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice',
  ]);
});
