// Regenerates words.txt and ranks.bin from zxcvbn 4.4.2's frequency lists
// (npm `zxcvbn`, a devDependency): `node guesses/data/build.mjs`.
//
// The lists are ranked (rank 1 = most common), and that order is what makes
// them large: sorted, the words compress to half. So each list keeps its words
// sorted and front-coded, and each word's rank is kept only to within 10 %:
// ranks fall in buckets [start, start * 1.1] (exact up to 10, and 10 and 100
// are always bucket edges, where zxcvbn's feedback changes), and a word is
// given its bucket's lowest rank. zxcvbn's guesses for a dictionary word are
// its rank, so an estimate can only come out lower (never more lenient),
// by at most log10(1.1) = 0.04.
//
// words.txt: per list, in zxcvbn's order, a line `#name`, then one line per
//   word: one digit (how many leading characters it shares with the word
//   before, at most 9), then the rest of the word.
// ranks.bin: per list, u16 LE bucket count, then each bucket's start rank as
//   u16 LE, then one byte per word (in words.txt order): its bucket.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../package.json'));
const lists = require('zxcvbn/lib/frequency_lists.js');
const ORDER = ['passwords', 'english_wikipedia', 'female_names', 'surnames', 'us_tv_and_film', 'male_names'];
const RATIO = 1.1;

let text = '';
const ranks = [];
const u16 = (n) => {
  if (n > 0xffff) throw new Error(`${n} does not fit in u16`);
  ranks.push(n & 0xff, n >> 8);
};
for (const name of ORDER) {
  const words = lists[name];
  const starts = [];
  const bucketOf = new Map();
  for (let start = 1; start <= words.length; ) {
    let end = Math.max(start, Math.floor(start * RATIO));
    for (const edge of [10, 100]) if (start <= edge && end > edge) end = edge;
    starts.push(start);
    for (let r = start; r <= Math.min(end, words.length); r++) bucketOf.set(words[r - 1], starts.length - 1);
    start = end + 1;
  }
  if (starts.length > 256) throw new Error(`${name}: ${starts.length} buckets`);
  const sorted = [...words].sort();
  text += `#${name}\n`;
  let prev = '';
  for (const w of sorted) {
    if (/[\n#]/.test(w[0] ?? '') || w.includes('\n')) throw new Error(`unexpected word ${JSON.stringify(w)}`);
    let p = 0;
    while (p < 9 && p < prev.length && p < w.length && prev[p] === w[p]) p++;
    text += `${p}${w.slice(p)}\n`;
    prev = w;
  }
  u16(starts.length);
  starts.forEach(u16);
  for (const w of sorted) ranks.push(bucketOf.get(w));
}
writeFileSync(join(here, 'words.txt'), text);
writeFileSync(join(here, 'ranks.bin'), Buffer.from(ranks));
console.log(`words.txt ${text.length} bytes, ranks.bin ${ranks.length} bytes`);
