// The workaround for React 18.3's NUL bytes in streamed HTML (html-stream.ts), against the real
// renderer: a “ placed across its 2 KB buffer's end comes out with NUL bytes before it, and through
// withoutNulBytes() exactly as renderToString writes it.
import { PassThrough, type Writable } from "node:stream";
import { text } from "node:stream/consumers";
import { createElement } from "react";
import { renderToPipeableStream, renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { withoutNulBytes } from "./html-stream.ts";

/**
 * A list of short rows (React writes each attribute and text as its own small chunk into a 2 KB
 * view) whose last label's “ lands `shift` bytes further along the stream.
 */
const page = (shift: number) =>
  createElement(
    "ul",
    null,
    ...Array.from({ length: 60 }, (_, i) => createElement("li", { key: i, "data-row": "r" }, `Task ${i}`)),
    createElement("li", { key: "last", "aria-label": `${"x".repeat(shift)}Delete “Pay rent”` }, "Pay rent"),
  );

function streamed(element: ReturnType<typeof page>, through?: () => Writable & NodeJS.ReadableStream) {
  return new Promise<string>((resolve, reject) => {
    const { pipe } = renderToPipeableStream(element, {
      onAllReady() {
        const out = new PassThrough();
        const piped = through ? out.pipe(through()) : out;
        text(piped).then(resolve, reject);
        pipe(out);
      },
      onError: reject,
    });
  });
}

describe("given React's streaming renderer and a multi-byte character at its buffer's end", () => {
  // Somewhere among these shifts the “ straddles the end of the 2,048-byte view.
  const offsets = Array.from({ length: 600 }, (_, i) => i);

  it("when streamed as React writes it, then NUL bytes appear (the bug this works around)", async () => {
    const outputs = await Promise.all(offsets.map((offset) => streamed(page(offset))));
    expect(outputs.some((html) => html.includes("\0"))).toBe(true);
  });

  it("when streamed through withoutNulBytes, then every page is exactly what renderToString writes", async () => {
    for (const offset of offsets) {
      const html = await streamed(page(offset), withoutNulBytes);
      expect(html, `offset ${offset}`).toBe(renderToString(page(offset)));
    }
  });
});
