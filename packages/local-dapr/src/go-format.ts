// What Go prints for the JSON values daprd decodes (numbers are float64, objects map[string]any):
// encoding/json's Marshal (state values are stored as daprd re-encodes them), fmt's %s and %v
// (secretstores.local.file flattens nested values with fmt.Sprintf("%s", v)) and strconv.Quote.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A JSON string as Go holds it: lone surrogates (from `\ud800` escapes) decode to U+FFFD. */
function goString(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD");
}

const HTML_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** encoding/json's string encoding (HTML-safe: <, >, & and U+2028/U+2029 escaped). */
function goJsonString(text: string): string {
  return JSON.stringify(goString(text)).replace(/[<>&\u2028\u2029]/g, (c) => HTML_ESCAPES[c]!);
}

/** Go's string order: byte-wise on UTF-8 (JavaScript compares UTF-16 code units). */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * json.Marshal of a value json.Unmarshal decoded into `any`: object keys sorted, HTML-safe
 * strings, float64 numbers (the same shortest form and exponent thresholds as JavaScript's, but
 * -0 stays "-0"). `undefined` (no value at all) is Go's nil: "null".
 */
export function goJsonMarshal(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return goJsonString(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(goJsonMarshal).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([key, inner]) => [goString(key), inner] as const,
  );
  entries.sort(([a], [b]) => compareUtf8(a, b));
  return `{${entries.map(([key, inner]) => `${goJsonString(key)}:${goJsonMarshal(inner)}`).join(",")}}`;
}

/** fmt's %v of a float64: strconv.FormatFloat(v, 'g', -1, 64) ("1e+06", "123456", "1e-05"). */
export function goFloat(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const sign = value < 0 ? "-" : "";
  // The shortest digits that round-trip, as strconv finds them.
  const [mantissa, exponentText] = Math.abs(value).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  // 'g' with the shortest precision switches to %e below 1e-4 or from 1e+06 on.
  if (exponent < -4 || exponent >= 6) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const magnitude = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${digits[0]}${fraction}e${exponent < 0 ? "-" : "+"}${magnitude}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}${fraction ? `.${fraction}` : ""}`;
}

/**
 * fmt.Sprintf("%s", v) of a JSON-decoded scalar: a string as is; anything else is a bad verb,
 * printed as `%!s(<type>=<%v>)`: `%!s(float64=5432)`, `%!s(bool=true)`, `%!s(<nil>)`.
 */
export function goSprintS(value: unknown): string {
  if (typeof value === "string") return goString(value);
  if (typeof value === "number") return `%!s(float64=${goFloat(value)})`;
  if (typeof value === "boolean") return `%!s(bool=${String(value)})`;
  return "%!s(<nil>)";
}

const QUOTE_ESCAPES: Record<string, string> = {
  "\u0007": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\u000b": "\\v",
  '"': '\\"',
  "\\": "\\\\",
};

/** strconv.Quote (%q) for the text of error messages. */
export function goQuote(text: string): string {
  let body = "";
  for (const c of goString(text)) {
    const code = c.charCodeAt(0);
    if (QUOTE_ESCAPES[c]) body += QUOTE_ESCAPES[c];
    else if (code < 0x20 || code === 0x7f) body += `\\x${code.toString(16).padStart(2, "0")}`;
    else body += c;
  }
  return `"${body}"`;
}
