/**
 * docker's human wording for durations and sizes (go-units HumanDuration and HumanSize),
 * reproduced exactly so tables read like docker's.
 */

export { humanDuration } from '../common/index.js';
import { humanDuration } from '../common/index.js';

/** "<duration> ago" for a past instant, as docker's CREATED column. */
export function timeAgo(thenMs: number, nowMs: number = Date.now()): string {
  return `${humanDuration(Math.max(0, nowMs - thenMs))} ago`;
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits ("4.26MB"). */
export function humanSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${formatG(size, 3)}${DECIMAL_UNITS[unit]}`;
}

// Go's %.Ng: N significant digits, trailing zeros dropped, exponent form only for large exponents.
function formatG(value: number, precision: number): string {
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= precision) {
    const [mantissa, exp] = value.toExponential(precision - 1).split('e');
    const trimmed = mantissa!.includes('.') ? mantissa!.replace(/\.?0+$/, '') : mantissa!;
    const expNumber = Number(exp);
    return `${trimmed}e${expNumber < 0 ? '-' : '+'}${String(Math.abs(expNumber)).padStart(2, '0')}`;
  }
  const fixed = value.toPrecision(precision);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** docker's Ellipsis: cut to `max` characters, the last one being "…". */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  if (max <= 1) return chars.slice(0, max).join('');
  return chars.slice(0, max - 1).join('') + '…';
}
