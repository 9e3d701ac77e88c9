/**
 * A JSON number literal kept as its source text, so that 64-bit integers survive parsing with full
 * precision (JSON.parse rounds every number to a double, losing digits past 2^53).
 *
 * `parseJson` produces it for literals that a double may not represent exactly (more than 15 digits, or an
 * exponent); every codec reader that accepts a JSON number accepts it too, converting it exactly for
 * integer fields and with `Number(text)` (the same rounding as JSON.parse) for floating-point ones.
 */
export class JsonNumberText {
  /** @param text The literal exactly as written, already validated against the JSON number grammar. */
  constructor(readonly text: string) {}

  /** The literal's value as a double, rounded exactly as JSON.parse would. */
  toNumber(): number {
    return Number(this.text);
  }

  /** Serialises back to the same literal, so JSON.stringify of a parsed document keeps the digits. */
  toJSON(): number {
    return Number(this.text);
  }
}
