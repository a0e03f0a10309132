import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/core/index.js';
import { codePointLength, normalizeNote, normalizePersonName } from '../../src/gallery/index.js';

describe('gallery/names: normalizePersonName', () => {
  const accepted: { name: string; raw: string; stored: string }[] = [
    { name: 'plain', raw: 'Alice', stored: 'Alice' },
    { name: 'trimmed', raw: '  Alice Smith \t', stored: 'Alice Smith' },
    { name: 'interior spaces kept', raw: 'Ann  Lee', stored: 'Ann  Lee' },
    { name: 'NBSP and ideographic space trimmed', raw: '\u00a0\u3000李雷\u3000', stored: '李雷' },
    {
      name: 'zero-width characters and marks at the ends trimmed',
      raw: '\u200bBob\u200e\u2060\ufeff',
      stored: 'Bob',
    },
    { name: 'emoji ending in a variation selector kept', raw: 'Love ❤️', stored: 'Love ❤️' },
    { name: 'path-like text is a name, not a path', raw: '../../etc/passwd', stored: '../../etc/passwd' },
    { name: 'slash', raw: 'a/b', stored: 'a/b' },
    { name: 'SQL fragment', raw: "Robert'); DROP TABLE person;--", stored: "Robert'); DROP TABLE person;--" },
    { name: 'HTML fragment', raw: '<script>alert(1)</script>', stored: '<script>alert(1)</script>' },
    { name: 'NFD → NFC', raw: 'Zoe\u0308', stored: 'Zo\u00eb' },
    { name: 'emoji ZWJ family', raw: '👨‍👩‍👧‍👦', stored: '👨‍👩‍👧‍👦' },
    { name: 'emoji with skin tone', raw: '👍🏽 Sam', stored: '👍🏽 Sam' },
    { name: 'subdivision flag (tag characters)', raw: '🏴󠁧󠁢󠁳󠁣󠁴󠁿', stored: '🏴󠁧󠁢󠁳󠁣󠁴󠁿' },
    { name: 'Arabic (RTL letters)', raw: 'محمد علي', stored: 'محمد علي' },
    { name: 'Hebrew with an RLM mark inside', raw: 'דוד\u200f כהן', stored: 'דוד\u200f כהן' },
    { name: 'Persian with ZWNJ', raw: 'می\u200cخواهم', stored: 'می\u200cخواهم' },
    { name: 'exactly 200 code points', raw: 'x'.repeat(200), stored: 'x'.repeat(200) },
    { name: '200 astral code points (400 UTF-16 units)', raw: '😀'.repeat(200), stored: '😀'.repeat(200) },
  ];
  for (const c of accepted) {
    it(`accepts ${c.name}`, () => {
      assert.equal(normalizePersonName(c.raw), c.stored);
    });
  }

  const rejected: { name: string; raw: unknown; message: RegExp }[] = [
    { name: 'empty', raw: '', message: /non-empty name/ },
    { name: 'whitespace only', raw: ' \t\n\u00a0\u3000 ', message: /non-empty name/ },
    { name: 'only invisible characters', raw: '\u200b\u200d\u200f', message: /non-empty name/ },
    { name: 'NUL', raw: 'Al\u0000ice', message: /control characters \(found U\+0000\)/ },
    { name: 'newline inside', raw: 'Al\nice', message: /control characters \(found U\+000A\)/ },
    { name: 'tab inside', raw: 'Al\tice', message: /U\+0009/ },
    { name: 'DEL', raw: 'Al\u007fice', message: /U\+007F/ },
    { name: 'C1 control', raw: 'Al\u0085ice', message: /U\+0085/ },
    { name: 'line separator inside', raw: 'Al\u2028ice', message: /U\+2028/ },
    { name: 'right-to-left override', raw: '\u202eecila', message: /bidirectional.*U\+202E/ },
    { name: 'left-to-right embedding', raw: 'a\u202ab', message: /U\+202A/ },
    { name: 'first strong isolate', raw: 'a\u2068b\u2069', message: /U\+2068/ },
    { name: 'lone surrogate', raw: 'a\ud800b', message: /lone surrogate/ },
    { name: '201 code points', raw: 'x'.repeat(201), message: /at most 200 characters \(it has 201\)/ },
    { name: '10 kB of text', raw: 'abcdefghij'.repeat(1024), message: /at most 200 characters/ },
    { name: 'a number', raw: 42, message: /Expected a string for name but received 42/ },
    { name: 'null', raw: null, message: /Expected a string for name/ },
  ];
  for (const c of rejected) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => normalizePersonName(c.raw),
        (err: unknown) =>
          err instanceof InvalidInputError && err.input === 'name' && c.message.test(err.message),
      );
    });
  }

  it('NFC and NFD spellings normalize to the same stored name', () => {
    const nfc = 'Ren\u00e9e Åström';
    const nfd = nfc.normalize('NFD');
    assert.notEqual(nfc, nfd);
    assert.equal(normalizePersonName(nfd), normalizePersonName(nfc));
  });

  it('is case-sensitive (case folding is language-dependent)', () => {
    assert.notEqual(normalizePersonName('Anna'), normalizePersonName('anna'));
  });

  it('error messages never echo more than 80 characters of the input', () => {
    try {
      normalizePersonName('y'.repeat(10000));
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof InvalidInputError);
      assert.ok(err.message.length < 300, err.message);
    }
  });
});

describe('gallery/names: normalizeNote and codePointLength', () => {
  it('keeps line breaks and tabs in notes, clears blank notes', () => {
    assert.equal(normalizeNote('  line 1\n\tline 2  '), 'line 1\n\tline 2');
    assert.equal(normalizeNote('   '), null);
    assert.equal(normalizeNote(null), null);
    assert.equal(normalizeNote(undefined), null);
  });
  it('rejects NUL, overrides and over-long notes', () => {
    assert.throws(() => normalizeNote('a\u0000b'), /U\+0000/);
    assert.throws(() => normalizeNote('a\u202eb'), /U\+202E/);
    assert.throws(() => normalizeNote('n'.repeat(2001)), /at most 2000/);
    assert.throws(() => normalizeNote(5), InvalidInputError);
  });
  const lengths: [string, number][] = [
    ['', 0],
    ['abc', 3],
    ['😀', 1],
    ['👨‍👩‍👧', 5],
    ['e\u0301', 2],
    ['\ud800', 1],
  ];
  for (const [s, n] of lengths) {
    it(`codePointLength(${JSON.stringify(s)}) = ${n}`, () => assert.equal(codePointLength(s), n));
  }
});
