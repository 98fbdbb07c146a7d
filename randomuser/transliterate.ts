/**
 * Script conversions the generator needs: Serbian Latin to Serbian Cyrillic (faker has only the Latin
 * Serbian locale, while RandomUser's RS users are Cyrillic), and any name to the ASCII an e-mail's local
 * part is made of (RandomUser writes `arsyn.kmrw@example.com` for a Persian آرسین کامروا).
 */

const SERBIAN_DIGRAPHS: Record<string, string> = { LJ: 'Љ', Lj: 'Љ', lj: 'љ', NJ: 'Њ', Nj: 'Њ', nj: 'њ', DŽ: 'Џ', Dž: 'Џ', dž: 'џ' };

const SERBIAN_LETTERS: Record<string, string> = {
  A: 'А', B: 'Б', C: 'Ц', Č: 'Ч', Ć: 'Ћ', D: 'Д', Đ: 'Ђ', E: 'Е', F: 'Ф', G: 'Г', H: 'Х', I: 'И', J: 'Ј', K: 'К',
  L: 'Л', M: 'М', N: 'Н', O: 'О', P: 'П', R: 'Р', S: 'С', Š: 'Ш', T: 'Т', U: 'У', V: 'В', Z: 'З', Ž: 'Ж',
  a: 'а', b: 'б', c: 'ц', č: 'ч', ć: 'ћ', d: 'д', đ: 'ђ', e: 'е', f: 'ф', g: 'г', h: 'х', i: 'и', j: 'ј', k: 'к',
  l: 'л', m: 'м', n: 'н', o: 'о', p: 'п', r: 'р', s: 'с', š: 'ш', t: 'т', u: 'у', v: 'в', z: 'з', ž: 'ж',
};

/** `Đorđe Petrović` → `Ђорђе Петровић`. Letters Serbian does not use (q, w, x, y) stay Latin. */
export function serbianToCyrillic(latin: string): string {
  return latin
    .replace(/LJ|Lj|lj|NJ|Nj|nj|DŽ|Dž|dž/g, (digraph) => SERBIAN_DIGRAPHS[digraph])
    .replace(/[A-Za-zČčĆćĐđŠšŽž]/g, (letter) => SERBIAN_LETTERS[letter] ?? letter);
}

/** Lower-case letters only: applied after `toLowerCase`. */
const TO_LATIN: Record<string, string> = {
  // Ukrainian Cyrillic (national romanisation); mapped before NFD, which would split й and ї.
  а: 'a', б: 'b', в: 'v', г: 'h', ґ: 'g', д: 'd', е: 'e', є: 'ye', ж: 'zh', з: 'z', и: 'y', і: 'i', ї: 'yi',
  й: 'y', к: 'k', л: 'l', м: 'm', н: 'n', о: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'kh',
  ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch', ь: '', ю: 'yu', я: 'ya',
  // Persian, consonant by consonant: short vowels are not written, so they stay out (as RandomUser's do).
  ا: 'a', آ: 'a', أ: 'a', إ: 'e', ب: 'b', پ: 'p', ت: 't', ث: 's', ج: 'j', چ: 'ch', ح: 'h', خ: 'kh', د: 'd',
  ذ: 'z', ر: 'r', ز: 'z', ژ: 'zh', س: 's', ش: 'sh', ص: 's', ض: 'z', ط: 't', ظ: 'z', ع: '', غ: 'gh', ف: 'f',
  ق: 'gh', ک: 'k', ك: 'k', گ: 'g', ل: 'l', م: 'm', ن: 'n', و: 'v', ه: 'h', ة: 'h', ی: 'i', ي: 'i', ئ: 'y',
  ء: '', ؤ: 'v',
  // Latin letters NFD does not decompose.
  ß: 'ss', ø: 'o', æ: 'ae', œ: 'oe', đ: 'dj', ł: 'l', ı: 'i', þ: 'th', ð: 'd',
};

/** `O'Connor` → `oconnor`, `Jean-Luc` → `jean-luc`, `Мар’яна` → `maryana`, `Müller` → `muller`. */
export function toAsciiLocalPart(name: string): string {
  let mapped = '';
  for (const char of name.toLowerCase()) mapped += TO_LATIN[char] ?? char;
  return mapped
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[^a-z0-9-]/g, '');
}
