import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvField, csvRecord, firstLine, parseCsv, sniffDelimiter } from "./csv.ts";

const fieldsOf = (text: string, options = {}) => {
  const parsed = parseCsv(text, options);
  if (!parsed.ok) throw new Error(`${parsed.line}: ${parsed.message}`);
  return parsed.records.map((record) => record.fields);
};
const linesOf = (text: string) => {
  const parsed = parseCsv(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.records.map((record) => record.line);
};

describe("given RFC 4180 text", () => {
  it("when fields are quoted, then delimiters, doubled quotes and line breaks inside them are data", () => {
    expect(fieldsOf('a,"b,c","say ""hi""","two\r\nlines"\r\nx,y,z,w\r\n')).toEqual([
      ["a", "b,c", 'say "hi"', "two\r\nlines"],
      ["x", "y", "z", "w"],
    ]);
  });

  it("when records end in CRLF, LF or a lone CR, then each is a record boundary", () => {
    expect(fieldsOf("a,b\r\nc,d\ne,f\rg,h")).toEqual([
      ["a", "b"],
      ["c", "d"],
      ["e", "f"],
      ["g", "h"],
    ]);
  });

  it("when the text starts with a UTF-8 byte order mark, then it is not part of the first field", () => {
    expect(fieldsOf("\uFEFFTYPE,CONTENT\r\n")).toEqual([["TYPE", "CONTENT"]]);
    expect(firstLine("\uFEFFTYPE;CONTENT\r\nx")).toBe("TYPE;CONTENT");
  });

  it("when fields are empty, then each is an empty string, also the last one of a record", () => {
    expect(fieldsOf(',,\r\n"",x,\r\n')).toEqual([
      ["", "", ""],
      ["", "x", ""],
    ]);
  });

  it("when the text ends without a line break, or with one, then the last record is read once", () => {
    expect(fieldsOf("a,b")).toEqual([["a", "b"]]);
    expect(fieldsOf("a,b\r\n")).toEqual([["a", "b"]]);
    expect(fieldsOf("")).toEqual([]);
  });

  it("when a quoted field spans lines, then each record names the line it starts on", () => {
    expect(linesOf('h1,h2\r\n1,"x\r\ny\r\nz"\r\n2,w\n\n3,v')).toEqual([1, 2, 5, 6, 7]);
  });

  it("when a quote sits inside an unquoted field, or text follows a closing quote, then it is kept", () => {
    expect(fieldsOf('5" nails,"a"b\r\n')).toEqual([['5" nails', "ab"]]);
  });

  it("when a quoted field never closes, then the error names the line it opened on", () => {
    expect(parseCsv('a,b\r\nc,"d\r\ne,f\r\n')).toEqual({
      ok: false,
      line: 2,
      message: 'a quoted field is never closed (a " is missing)',
    });
  });

  it("when more records than allowed are read, then it stops with tooMany", () => {
    expect(parseCsv("a\nb\nc\n", { maxRecords: 2 })).toMatchObject({ ok: false, tooMany: true, line: 3 });
    expect(parseCsv("a\nb\n", { maxRecords: 2 })).toMatchObject({ ok: true });
  });

  it("when the delimiter is a semicolon, then commas are data", () => {
    expect(fieldsOf('a;"b;c";d,e\r\n', { delimiter: ";" })).toEqual([["a", "b;c", "d,e"]]);
  });
});

describe("given a header line", () => {
  it("when it has more semicolons than commas outside quotes, then the delimiter is a semicolon", () => {
    expect(sniffDelimiter("TYPE;CONTENT;DESCRIPTION")).toBe(";");
    expect(sniffDelimiter("TYPE,CONTENT,DESCRIPTION")).toBe(",");
    expect(sniffDelimiter('"a;b;c",d')).toBe(",");
    expect(sniffDelimiter("TYPE")).toBe(",");
  });
});

describe("given values to write", () => {
  it("when a value holds a delimiter, quote or line break, then it is quoted with quotes doubled", () => {
    expect(csvRecord(["plain", "a,b", 'say "hi"', "two\nlines", "cr\r"])).toBe(
      'plain,"a,b","say ""hi""","two\nlines","cr\r"\r\n',
    );
  });

  it("when a value starts with = + - @, a tab or a CR, then it is written with a leading apostrophe", () => {
    expect(csvField('=HYPERLINK("https://evil.example","x")')).toBe(
      `"'=HYPERLINK(""https://evil.example"",""x"")"`,
    );
    expect(csvField("+1 555")).toBe("'+1 555");
    expect(csvField("-5")).toBe("'-5");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvField("\tcmd")).toBe("'\tcmd");
    expect(csvField("a=b")).toBe("a=b");
    expect(csvField("=x", { guardFormulas: false })).toBe("=x");
  });

  it("when records are written without the guard, then reading them gives back every value", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ unit: "grapheme" }), { minLength: 2, maxLength: 5 })),
        (rows) => {
          const text = rows.map((row) => csvRecord(row, { guardFormulas: false })).join("");
          expect(fieldsOf(text)).toEqual(rows);
        },
      ),
      { numRuns: 500 },
    );
  });
});
