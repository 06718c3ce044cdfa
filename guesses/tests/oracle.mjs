// The parity test's oracle: JS zxcvbn 4.4.2 (npm), the reference
// implementation. Reads {year, inputs, passwords} as JSON on stdin and
// prints one {guesses, score, warning, suggestions} per password.
//
// Two settings make it the algorithm sspr-guesses implements: the reference
// year is the given one (not the clock's), and recent years are 19xx and
// 20xx (4.4.2, written in 2016, stops at 2019).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '../../package.json'));
const zxcvbn = require('zxcvbn/lib/main.js');
const matching = require('zxcvbn/lib/matching.js');
const scoring = require('zxcvbn/lib/scoring.js');

const { year, inputs, passwords } = JSON.parse(readFileSync(0, 'utf8'));
scoring.REFERENCE_YEAR = year;
const regexMatch = matching.regex_match;
matching.regex_match = function (password) {
  return regexMatch.call(this, password, { recent_year: /19\d\d|20\d\d/g });
};
const out = passwords.map((p) => {
  const r = zxcvbn(p, inputs);
  return { guesses: r.guesses, score: r.score, warning: r.feedback.warning, suggestions: r.feedback.suggestions };
});
process.stdout.write(JSON.stringify(out));
