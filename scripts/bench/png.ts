// A dependency-free PNG bar chart (no chart library or SVG converter is installed here): an RGBA
// raster with filled rectangles, a 5×7 bitmap font for labels, written as a PNG by hand
// (https://www.w3.org/TR/png-3/: signature, IHDR, one zlib-deflated IDAT, IEND, CRC-32 per chunk).
import { deflateSync } from "node:zlib";

type Rgb = readonly [number, number, number];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

export class Canvas {
  private readonly pixels: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.pixels = Buffer.alloc(width * height * 4);
    this.rect(0, 0, width, height, background);
  }

  rect(x: number, y: number, w: number, h: number, [r, g, b]: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 4;
        this.pixels[i] = r;
        this.pixels[i + 1] = g;
        this.pixels[i + 2] = b;
        this.pixels[i + 3] = 255;
      }
    }
  }

  /** Text in the 5×7 font, `scale` pixels per font pixel; unknown characters draw as blanks. */
  text(x: number, y: number, value: string, color: Rgb, scale = 2): void {
    let cx = x;
    for (const ch of value.toUpperCase()) {
      const glyph = FONT[ch];
      if (glyph) {
        glyph.forEach((row, ry) => {
          for (let rx = 0; rx < 5; rx++)
            if (row & (1 << (4 - rx))) this.rect(cx + rx * scale, y + ry * scale, scale, scale, color);
        });
      }
      cx += 6 * scale;
    }
  }

  png(): Buffer {
    const raw = Buffer.alloc((this.width * 4 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 4 + 1)] = 0; // filter: none
      this.pixels.copy(raw, y * (this.width * 4 + 1) + 1, y * this.width * 4, (y + 1) * this.width * 4);
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(this.width, 0);
    header.writeUInt32BE(this.height, 4);
    header[8] = 8; // bit depth
    header[9] = 6; // colour type: RGBA
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", header),
      chunk("IDAT", deflateSync(raw)),
      chunk("IEND", Buffer.alloc(0)),
    ]);
  }
}

export interface BarGroup {
  label: string;
  /** Ours and the baseline, in the same unit; the bars are scaled per group. */
  ours: number;
  baseline: number | null;
  target: number | null;
}

const OURS: Rgb = [37, 99, 235];
const BASE: Rgb = [156, 163, 175];
const TARGET: Rgb = [220, 38, 38];
const INK: Rgb = [17, 24, 39];

/**
 * One row per group: ours (blue) above its baseline (grey), each bar scaled to the group's largest
 * value, each labelled with its value, the target as a red tick; the table holds the full figures.
 */
export function barChart(groups: BarGroup[]): Buffer {
  const rowH = 64;
  const left = 330;
  const width = 1000;
  const barMax = width - left - 130;
  const canvas = new Canvas(width, 70 + groups.length * rowH);
  canvas.text(16, 16, "ORBIT BENCHMARKS: OURS (BLUE) VS BASELINE (GREY), TARGET (RED)", INK, 2);
  groups.forEach((group, i) => {
    const y = 56 + i * rowH;
    canvas.text(16, y + 14, group.label.slice(0, 26), INK, 2);
    const values = [group.ours, group.baseline ?? 0, group.target ?? 0].filter(Number.isFinite);
    const scale = Math.max(...values, 1e-9);
    const bar = (value: number) => (Number.isFinite(value) ? Math.max(2, (value / scale) * barMax) : 0);
    const label = (value: number) => String(value >= 100 ? Math.round(value) : Math.round(value * 10) / 10);
    canvas.rect(left, y + 4, bar(group.ours), 20, OURS);
    canvas.text(left + bar(group.ours) + 8, y + 7, label(group.ours), INK, 2);
    if (group.baseline !== null) {
      canvas.rect(left, y + 28, bar(group.baseline), 20, BASE);
      canvas.text(left + bar(group.baseline) + 8, y + 31, label(group.baseline), INK, 2);
    }
    if (group.target !== null && Number.isFinite(group.target))
      canvas.rect(left + bar(group.target) - 1, y, 3, 52, TARGET);
  });
  return canvas.png();
}

// 5×7 glyphs, one byte per row, bit 4 = leftmost pixel.
const FONT: Record<string, number[]> = {
  A: [14, 17, 17, 31, 17, 17, 17],
  B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14],
  D: [30, 17, 17, 17, 17, 17, 30],
  E: [31, 16, 16, 30, 16, 16, 31],
  F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15],
  H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17],
  L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13],
  R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30],
  T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10],
  X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 10, 4, 4, 4, 4],
  Z: [31, 1, 2, 4, 8, 16, 31],
  "0": [14, 17, 19, 21, 25, 17, 14],
  "1": [4, 12, 4, 4, 4, 4, 14],
  "2": [14, 17, 1, 2, 4, 8, 31],
  "3": [31, 2, 4, 2, 1, 17, 14],
  "4": [2, 6, 10, 18, 31, 2, 2],
  "5": [31, 16, 30, 1, 1, 17, 14],
  "6": [6, 8, 16, 30, 17, 17, 14],
  "7": [31, 1, 2, 4, 8, 8, 8],
  "8": [14, 17, 17, 14, 17, 17, 14],
  "9": [14, 17, 17, 15, 1, 2, 12],
  ".": [0, 0, 0, 0, 0, 12, 12],
  ",": [0, 0, 0, 0, 12, 4, 8],
  ":": [0, 12, 12, 0, 12, 12, 0],
  "-": [0, 0, 0, 31, 0, 0, 0],
  "/": [1, 1, 2, 4, 8, 16, 16],
  "(": [2, 4, 8, 8, 8, 4, 2],
  ")": [8, 4, 2, 2, 2, 4, 8],
  ">": [8, 4, 2, 1, 2, 4, 8],
  "<": [2, 4, 8, 16, 8, 4, 2],
  "%": [24, 25, 2, 4, 8, 19, 3],
  "+": [0, 4, 4, 31, 4, 4, 0],
  "=": [0, 0, 31, 0, 31, 0, 0],
};
