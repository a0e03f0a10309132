import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/core/index.js';
import { lfwImagePath, loadLfwPairs, parseLfwPairs } from '../../src/recognize/lfw.js';
import { sharedPath, sharedSkip } from '../helpers.js';

const TWO_FOLDS = [
  '2\t2',
  'Abel_Pacheco\t1\t4',
  'Akhmed_Zakayev\t1\t3',
  'Abdel_Madi_Shabneh\t1\tDean_Barker\t1',
  'Abdel_Madi_Shabneh\t1\tGiancarlo_Fisichella\t1',
  'George_W_Bush\t10\t12',
  'Akhmed_Zakayev\t2\t3',
  'Abel_Pacheco\t4\tAkhmed_Zakayev\t2',
  'Zico\t1\tZoe_Ball\t1',
].join('\n');

describe('recognize/lfw: parsing', () => {
  it('image paths are Name/Name_NNNN.jpg', () => {
    assert.equal(lfwImagePath('George_W_Bush', 10), 'George_W_Bush/George_W_Bush_0010.jpg');
    assert.equal(lfwImagePath('Zico', 1), 'Zico/Zico_0001.jpg');
    assert.equal(lfwImagePath('X', 12345), 'X/X_12345.jpg');
  });

  it('two folds of 2 matched + 2 mismatched pairs', () => {
    const p = parseLfwPairs(TWO_FOLDS);
    assert.equal(p.folds, 2);
    assert.equal(p.pairsPerFold, 2);
    assert.equal(p.pairs.length, 8);
    assert.deepEqual(
      p.pairs.map((x) => [x.fold, x.same, x.line]),
      [
        [0, true, 2],
        [0, true, 3],
        [0, false, 4],
        [0, false, 5],
        [1, true, 6],
        [1, true, 7],
        [1, false, 8],
        [1, false, 9],
      ],
    );
    assert.equal(p.pairs[0]!.a, 'Abel_Pacheco/Abel_Pacheco_0001.jpg');
    assert.equal(p.pairs[0]!.b, 'Abel_Pacheco/Abel_Pacheco_0004.jpg');
    assert.equal(p.pairs[2]!.b, 'Dean_Barker/Dean_Barker_0001.jpg');
    // 16 image slots, 4 of them repeats (Abdel_Madi_Shabneh 1, Akhmed_Zakayev 3 and 2, Abel_Pacheco 4)
    assert.equal(p.images.length, new Set(p.pairs.flatMap((x) => [x.a, x.b])).size);
    assert.equal(p.images.length, 12);
    assert.equal(p.images[0], 'Abel_Pacheco/Abel_Pacheco_0001.jpg');
  });

  it('accepts CRLF line ends, spaces and trailing blank lines', () => {
    const p = parseLfwPairs(`${TWO_FOLDS.replaceAll('\t', '  ').replaceAll('\n', '\r\n')}\r\n\r\n`);
    assert.equal(p.pairs.length, 8);
  });

  const singleNumber: { name: string; lines: number; folds: number | null }[] = [
    { name: 'one set (View 1 files)', lines: 4, folds: 1 },
    { name: 'two sets', lines: 8, folds: 2 },
    { name: 'a line count that is not a whole number of sets', lines: 6, folds: null },
  ];
  for (const c of singleNumber) {
    it(`a single-number header: ${c.name}`, () => {
      const body = TWO_FOLDS.split('\n').slice(1, 1 + c.lines);
      const text = ['2', ...body].join('\n');
      if (c.folds === null) {
        assert.throws(() => parseLfwPairs(text), /line 1: .*multiple of 4 pair lines, but it holds 6/);
      } else {
        const p = parseLfwPairs(text);
        assert.equal(p.folds, c.folds);
        assert.equal(p.pairsPerFold, 2);
        assert.equal(p.pairs.length, c.lines);
      }
    });
  }

  const malformed: { name: string; text: string; message: RegExp }[] = [
    { name: 'an empty file', text: '', message: /line 1: the file is empty/ },
    {
      name: 'a header with words',
      text: 'folds pairs\nA 1 2',
      message: /line 1: expected "<folds> <pairs per fold>"/,
    },
    { name: 'a header with three numbers', text: '1 1 1\nA 1 2\nA 1 B 2', message: /line 1/ },
    {
      name: 'a mismatched line where a matched one belongs',
      text: TWO_FOLDS.replace('Akhmed_Zakayev\t1\t3', 'Akhmed_Zakayev\t1\tZico\t3'),
      message: /pairs\.txt line 3: expected a matched pair "name n1 n2" \(fold 1\)/,
    },
    {
      name: 'a matched line where a mismatched one belongs',
      text: TWO_FOLDS.replace('Zico\t1\tZoe_Ball\t1', 'Zico\t1\t2'),
      message: /line 9: expected a mismatched pair "name1 n1 name2 n2" \(fold 2\)/,
    },
    {
      name: 'an image number that is not a positive integer',
      text: TWO_FOLDS.replace('George_W_Bush\t10\t12', 'George_W_Bush\tten\t12'),
      message: /line 6/,
    },
    { name: 'image number 0', text: TWO_FOLDS.replace('Zico\t1', 'Zico\t0'), message: /line 9/ },
    {
      name: 'a name with a path separator',
      text: TWO_FOLDS.replace('Abel_Pacheco\t1\t4', '../etc\t1\t4'),
      message: /line 2/,
    },
    {
      name: 'too few lines',
      text: TWO_FOLDS.split('\n').slice(0, 7).join('\n'),
      message: /announces 2 folds × \(2 matched \+ 2 mismatched\) = 8 pair lines, but the file has 6/,
    },
    { name: 'too many lines', text: `${TWO_FOLDS}\nZico\t1\t2`, message: /line 10: .*the file has 9/ },
  ];
  for (const c of malformed) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => parseLfwPairs(c.text),
        (err: unknown) => err instanceof InvalidInputError && c.message.test(err.message),
      );
    });
  }

  it('names the file in messages', () => {
    assert.throws(() => parseLfwPairs('x', 'mine.txt'), /^InvalidInputError: mine\.txt line 1/);
  });

  it('loadLfwPairs reports a missing file', async () => {
    await assert.rejects(loadLfwPairs('/nonexistent/pairs.txt'), /Cannot read the LFW pair list/);
  });
});

describe('recognize/lfw: the shared LFW lists', () => {
  const skip = sharedSkip('data/faces/lfw');

  it('pairs-dev.txt: 5 folds × 600 pairs, every image present', { skip }, async () => {
    const p = await loadLfwPairs(sharedPath('data', 'faces', 'lfw', 'pairs-dev.txt'));
    assert.equal(p.folds, 5);
    assert.equal(p.pairsPerFold, 300);
    assert.equal(p.pairs.length, 3000);
    assert.equal(p.pairs.filter((x) => x.same).length, 1500);
    for (let f = 0; f < 5; f++) assert.equal(p.pairs.filter((x) => x.fold === f).length, 600);
    const missing = p.images.filter((img) => !existsSync(sharedPath('data', 'faces', 'lfw', img)));
    assert.deepEqual(missing, []);
    assert.ok(p.images.length < 6000, `${p.images.length} unique images for 3000 pairs`);
  });

  it('pairs.txt: 10 folds × 600 pairs, the first 5 folds are pairs-dev.txt', { skip }, () => {
    const dir = sharedPath('data', 'faces', 'lfw');
    const all = parseLfwPairs(readFileSync(join(dir, 'pairs.txt'), 'utf8'));
    const dev = parseLfwPairs(readFileSync(join(dir, 'pairs-dev.txt'), 'utf8'));
    assert.equal(all.folds, 10);
    assert.equal(all.pairs.length, 6000);
    assert.equal(all.pairs.filter((x) => x.same).length, 3000);
    assert.deepEqual(
      all.pairs.slice(0, 3000).map((x) => [x.a, x.b, x.same, x.fold]),
      dev.pairs.map((x) => [x.a, x.b, x.same, x.fold]),
    );
  });
});
