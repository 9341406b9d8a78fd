// CSV both ways (RFC 4180, https://www.rfc-editor.org/rfc/rfc4180): reading what other apps export
// (a Todoist project, todoist-import.ts) and writing the task export. Pure.
//
// Reading is as lenient as spreadsheets are where RFC 4180 leaves no doubt about the meaning: a
// UTF-8 byte order mark is dropped, records end in CRLF, LF or a lone CR, a quoted field may hold
// delimiters, line breaks and doubled quotes (""), a quote inside an unquoted field is kept as it
// is, and text after a closing quote joins the field. Only a quoted field that never closes is an
// error: everything after it would be read wrongly. Each record keeps the physical line it starts
// on, so a report can say "line 14" of the file as an editor shows it.
//
// Writing quotes a field only when it must (delimiter, quote, CR or LF) and ends records with
// CRLF. A cell that starts with = + - @, a tab or a CR is one a spreadsheet may run as a formula
// (CSV injection, https://owasp.org/www-community/attacks/CSV_Injection): it is written with a
// leading apostrophe, which spreadsheets show as text and do not display.

export interface CsvRecord {
  /** The 1-based line of the file the record starts on. */
  line: number;
  fields: string[];
}

export type CsvParse =
  { ok: true; records: CsvRecord[] } | { ok: false; line: number; message: string; tooMany?: boolean };

export interface CsvReadOptions {
  /** "," unless given; sniffDelimiter picks "," or ";" from a header line. */
  delimiter?: string;
  /** Stop with an error (tooMany) once more records than this are read. */
  maxRecords?: number;
}

const BOM = "\uFEFF";

/** The records of `text`. An empty text has none; a final line break ends the last record. */
export function parseCsv(text: string, options: CsvReadOptions = {}): CsvParse {
  const delimiter = options.delimiter ?? ",";
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\r" || delimiter === "\n")
    throw new RangeError(`a CSV delimiter is one character other than a quote or line break`);
  const max = options.maxRecords ?? Infinity;
  const source = text.startsWith(BOM) ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let atFieldStart = true;
  const endField = () => {
    fields.push(field);
    field = "";
    atFieldStart = true;
  };
  const endRecord = (): CsvParse | null => {
    endField();
    records.push({ line: recordLine, fields });
    fields = [];
    if (records.length > max)
      return { ok: false, line: recordLine, message: `more than ${max} rows`, tooMany: true };
    return null;
  };
  while (i < source.length) {
    const char = source[i]!;
    if (atFieldStart && char === '"') {
      // A quoted field: up to the quote that is not doubled.
      const opened = line;
      i++;
      for (;;) {
        if (i >= source.length)
          return { ok: false, line: opened, message: 'a quoted field is never closed (a " is missing)' };
        const inner = source[i]!;
        if (inner === '"') {
          if (source[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (inner === "\r" || inner === "\n") {
          // A line break inside quotes is part of the field, as written (CRLF stays CRLF).
          line++;
          if (inner === "\r" && source[i + 1] === "\n") {
            field += "\r\n";
            i += 2;
            continue;
          }
        }
        field += inner;
        i++;
      }
      atFieldStart = false;
      continue;
    }
    atFieldStart = false;
    if (char === delimiter) {
      endField();
      i++;
      continue;
    }
    if (char === "\r" || char === "\n") {
      i += char === "\r" && source[i + 1] === "\n" ? 2 : 1;
      const failed = endRecord();
      if (failed) return failed;
      line++;
      recordLine = line;
      continue;
    }
    field += char;
    i++;
  }
  // The last record, unless the text ended with its line break (or was empty).
  if (fields.length > 0 || field !== "" || !atFieldStart) {
    const failed = endRecord();
    if (failed) return failed;
  }
  return { ok: true, records };
}

/**
 * "," or ";": what separates the fields of `headerLine` (spreadsheets in many European locales save
 * CSV with semicolons). The one that occurs more often outside quotes; "," when neither does.
 */
export function sniffDelimiter(headerLine: string): "," | ";" {
  const unquoted = headerLine.replace(/"[^"]*"/g, "");
  const count = (c: string) => unquoted.split(c).length - 1;
  return count(";") > count(",") ? ";" : ",";
}

/** The first line of `text` (without a BOM), to sniff its delimiter. */
export function firstLine(text: string): string {
  const source = text.startsWith(BOM) ? text.slice(1) : text;
  const end = source.search(/[\r\n]/);
  return end < 0 ? source : source.slice(0, end);
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** One field as written: guarded against formula injection, then quoted when it has to be. */
export function csvField(value: string, options: { guardFormulas?: boolean } = {}): string {
  const text = (options.guardFormulas ?? true) && FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRecord(values: readonly string[], options: { guardFormulas?: boolean } = {}): string {
  return `${values.map((value) => csvField(value, options)).join(",")}\r\n`;
}
