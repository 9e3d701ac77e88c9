/**
 * The string forms of google.protobuf.Timestamp and Duration (google/protobuf/timestamp.proto and
 * duration.proto, "JSON Mapping" sections), and the names of the well-known types with a special JSON form.
 */
import { fail, show } from './errors.js';

/** Well-known types whose JSON form is not the generic object form (proto3 JSON mapping table). */
export const WKT = Object.freeze({
  any: '.google.protobuf.Any',
  timestamp: '.google.protobuf.Timestamp',
  duration: '.google.protobuf.Duration',
  fieldMask: '.google.protobuf.FieldMask',
  struct: '.google.protobuf.Struct',
  value: '.google.protobuf.Value',
  listValue: '.google.protobuf.ListValue',
  empty: '.google.protobuf.Empty',
  nullValue: '.google.protobuf.NullValue',
});

/** The wrapper types (google/protobuf/wrappers.proto): JSON is the bare value of their `value` field. */
export const WRAPPERS: ReadonlySet<string> = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (w) => `.google.protobuf.${w}Value`,
  ),
);

/** Message types that, inside an Any, carry their JSON in a `"value"` key (protobuf-go's list). */
export function hasSpecialJson(fullName: string): boolean {
  return (
    WRAPPERS.has(fullName) ||
    fullName === WKT.any ||
    fullName === WKT.timestamp ||
    fullName === WKT.duration ||
    fullName === WKT.fieldMask ||
    fullName === WKT.struct ||
    fullName === WKT.value ||
    fullName === WKT.listValue ||
    fullName === WKT.empty
  );
}

/** Seconds and nanos as the readers store them: int64 as a decimal string (protobufjs form). */
export interface SecondsNanos {
  seconds: string;
  nanos: number;
}

// timestamp.proto: "the range is from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z".
const MIN_TIMESTAMP_SECONDS = -62_135_596_800;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799;
// duration.proto: "Range is approximately +-10,000 years": ±315,576,000,000 seconds.
const MAX_DURATION_SECONDS = 315_576_000_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's civil_from_days). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Right-pads a 1–9 digit fraction to nanoseconds. */
function nanosOf(fraction: string | undefined): number {
  return fraction === undefined ? 0 : Number(fraction.padEnd(9, '0'));
}

/** 0, 3, 6 or 9 fractional digits, as the mapping specifies for output. */
function fractionOf(nanos: number): string {
  if (nanos === 0) return '';
  const nine = String(nanos).padStart(9, '0');
  if (nanos % 1_000_000 === 0) return `.${nine.slice(0, 3)}`;
  if (nanos % 1_000 === 0) return `.${nine.slice(0, 6)}`;
  return `.${nine}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The value of `count` ASCII digits of `text` at `at`, or -1 if any is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 0x30; // NaN past the end, which fails the test below
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * An RFC 3339 date-time (`Z` or a numeric offset, up to 9 fractional digits) → Timestamp fields.
 * Fails unless the text is a real calendar date-time within years 0001–9999 once converted to UTC.
 * Hand-parsed rather than matched with a regular expression: timestamps are common in payloads and this
 * is several times faster.
 */
export function timestampFromText(text: string): SecondsNanos {
  const bad = (): never => fail(`${show(text)} is not an RFC 3339 timestamp`);
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const t = text.charCodeAt(10);
  if (
    year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 ||
    text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || (t !== 0x54 && t !== 0x74) ||
    text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a
  ) {
    return bad();
  }
  let p = 19;
  let nanos = 0;
  if (text.charCodeAt(p) === 0x2e /* . */) {
    let count = 0;
    for (p++; count < 10; p++, count++) {
      const d = text.charCodeAt(p) - 0x30;
      if (!(d >= 0 && d <= 9)) break;
      nanos = nanos * 10 + d;
    }
    if (count === 0 || count > 9) return bad();
    nanos *= 10 ** (9 - count);
  }
  let offset = 0;
  const z = text.charCodeAt(p);
  if (z === 0x5a || z === 0x7a /* Z z */) {
    if (p + 1 !== text.length) return bad();
  } else if (z === 0x2b || z === 0x2d /* + - */) {
    const oh = digitsAt(text, p + 1, 2);
    const om = digitsAt(text, p + 4, 2);
    if (oh < 0 || om < 0 || text.charCodeAt(p + 3) !== 0x3a || p + 6 !== text.length || oh > 23 || om > 59) return bad();
    offset = (z === 0x2d ? -1 : 1) * (oh * 3600 + om * 60);
  } else {
    return bad();
  }
  if (
    year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    hour > 23 || minute > 59 || second > 59
  ) {
    return fail(`${show(text)} is not a valid timestamp`);
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    return fail(`${show(text)} is outside the Timestamp range 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z`);
  }
  return { seconds: String(seconds), nanos };
}

/**
 * Timestamp fields → RFC 3339 in UTC with `Z` and 0, 3, 6 or 9 fractional digits.
 * Fails on values outside years 0001–9999 or nanos outside 0–999,999,999 (they have no JSON form).
 */
export function timestampToText(seconds: number, nanos: number): string {
  if (
    !Number.isInteger(seconds) || seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS ||
    !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999
  ) {
    return fail(`seconds ${seconds} and nanos ${nanos} are outside the Timestamp range`);
  }
  const days = Math.floor(seconds / 86400);
  const secondOfDay = seconds - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const h = Math.floor(secondOfDay / 3600);
  const mi = Math.floor((secondOfDay % 3600) / 60);
  const s = secondOfDay % 60;
  return `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${fractionOf(nanos)}Z`;
}

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/**
 * `"1.5s"`, `"-0.000000001s"` → Duration fields (seconds and nanos share the sign). Fails outside
 * ±315,576,000,000 s or on any other syntax.
 */
export function durationFromText(text: string): SecondsNanos {
  const m = DURATION.exec(text);
  if (m === null) return fail(`${show(text)} is not a duration (expected seconds with an "s" suffix, e.g. "1.5s")`);
  const whole = m[2]!.replace(/^0+(?=\d)/, '');
  if (whole.length > 12 || Number(whole) > MAX_DURATION_SECONDS) {
    return fail(`${show(text)} is outside the Duration range of ±315576000000s`);
  }
  const sign = m[1] === '-' ? -1 : 1;
  const seconds = sign * Number(whole);
  const nanos = sign * nanosOf(m[3]);
  return { seconds: String(seconds + 0), nanos: nanos + 0 };
}

/**
 * Duration fields → `"<seconds>[.fraction]s"` with 0, 3, 6 or 9 fractional digits. Fails outside the
 * range, or when seconds and nanos have different signs (duration.proto requires them to agree).
 */
export function durationToText(seconds: number, nanos: number): string {
  if (
    !Number.isInteger(seconds) || Math.abs(seconds) > MAX_DURATION_SECONDS ||
    !Number.isInteger(nanos) || Math.abs(nanos) > 999_999_999 ||
    (seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0)
  ) {
    return fail(`seconds ${seconds} and nanos ${nanos} are not a valid Duration`);
  }
  const sign = seconds < 0 || nanos < 0 ? '-' : '';
  return `${sign}${Math.abs(seconds)}${fractionOf(Math.abs(nanos))}s`;
}
