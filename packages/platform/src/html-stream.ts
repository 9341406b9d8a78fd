// React 18.3's streaming server renderer (renderToPipeableStream) writes its whole 2 KB buffer when
// a multi-byte character does not fit at the end of it, unused bytes included: up to two NUL bytes
// land in the HTML before the character (facebook/react#31134; a “ in an aria-label rendered as
// "�“"). UTF-8 never uses the byte 0x00 inside a character, and HTML text never carries U+0000
// (our inputs refuse it; a parser would replace it with U+FFFD anyway), so dropping every NUL
// byte restores exactly what React meant to write.
import { Transform } from "node:stream";

/** A pass-through for the rendered HTML that drops NUL bytes. */
export function withoutNulBytes(): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      done(null, chunk.includes(0) ? Buffer.from(chunk.filter((byte) => byte !== 0)) : chunk);
    },
  });
}
