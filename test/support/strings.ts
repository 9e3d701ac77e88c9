import v8 from 'node:v8';

/**
 * Whether V8 holds `s` as two bytes per character: v8.serialize tags such a string 'c' (a one-byte one '"'),
 * after its two header bytes and any padding bytes (0) that align two-byte data.
 */
export function isTwoByte(s: string): boolean {
  const b = v8.serialize(s);
  let i = 2;
  while (b[i] === 0) i++;
  return b[i] === 0x63;
}
