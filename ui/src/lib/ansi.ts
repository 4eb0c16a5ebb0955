/**
 * Turns command output into styled text segments for the console, safely (docs/threats.md, row 20).
 *
 * Colours and bold/italic/underline become CSS classes from a fixed list. A carriage return
 * moves back to the start of its own line, as in a terminal, so that dpkg's and curl's progress
 * lines show their last state; what follows overwrites that line only, and a row rewritten so
 * is marked (`rewritten`). Every other escape sequence (clear screen, cursor moves, window
 * titles, hyperlinks), other control characters and bidirectional overrides are kept as
 * *visible* inert text, so output can neither wipe what came before it nor reach another row.
 * Segments are rendered as text nodes, never as HTML.
 */

export type Segment = { text: string; cls: string };

/** One row of output: its segments, and whether a carriage return overwrote some of it. */
export type Row = { segments: Segment[]; rewritten: boolean };

type Sgr = {
  fg: string;
  bg: string;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
};

const COLORS = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

const plain = (): Sgr => ({
  fg: '',
  bg: '',
  bold: false,
  dim: false,
  italic: false,
  underline: false,
});

function classOf(s: Sgr): string {
  const c: string[] = [];
  if (s.fg) c.push(`fg-${s.fg}`);
  if (s.bg) c.push(`bg-${s.bg}`);
  if (s.bold) c.push('b');
  if (s.dim) c.push('dim');
  if (s.italic) c.push('i');
  if (s.underline) c.push('u');
  return c.join(' ');
}

function applySgr(s: Sgr, params: string): void {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const n = codes[i];
    if (n === 0) Object.assign(s, plain());
    else if (n === 1) s.bold = true;
    else if (n === 2) s.dim = true;
    else if (n === 3) s.italic = true;
    else if (n === 4) s.underline = true;
    else if (n === 22) s.bold = s.dim = false;
    else if (n === 23) s.italic = false;
    else if (n === 24) s.underline = false;
    else if (n >= 30 && n <= 37) s.fg = COLORS[n - 30];
    else if (n >= 90 && n <= 97) s.fg = `bright-${COLORS[n - 90]}`;
    else if (n === 39) s.fg = '';
    else if (n >= 40 && n <= 47) s.bg = COLORS[n - 40];
    else if (n >= 100 && n <= 107) s.bg = `bright-${COLORS[n - 100]}`;
    else if (n === 49) s.bg = '';
    else if (n === 38 || n === 48) {
      // 256-colour and true-colour forms: skip their arguments, keep the default colour.
      i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 1;
    }
  }
}

/** What an inert character looks like: the Unicode "control picture" or a code point. */
export function visibleControl(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code === 0x1b) return '␛';
  if (code < 0x20) return String.fromCodePoint(0x2400 + code);
  if (code === 0x7f) return '␡';
  return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
}

// C0 controls except tab and newline, DEL, C1 controls, and the bidi/invisible formatting
// characters that can make text read differently from what it is.
// eslint-disable-next-line no-control-regex
const INERT_CHAR =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

// Everything the parser must look at; runs of other characters are copied as they are.
// eslint-disable-next-line no-control-regex
const SPECIAL =
  /[\n\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Writes `text` over `segments` from column `col` (in code points); returns the new segments. */
function writeOver(segments: Segment[], col: number, text: string, cls: string): Segment[] {
  const cells: [string, string][] = [];
  for (const s of segments) for (const ch of s.text) cells.push([ch, s.cls]);
  let at = col;
  for (const ch of text) cells[at++] = [ch, cls];
  const out: Segment[] = [];
  for (const [ch, c] of cells) {
    const last = out[out.length - 1];
    if (last && last.cls === c) last.text += ch;
    else out.push({ text: ch, cls: c });
  }
  return out;
}

/** How many code points `segments` hold. */
function width(segments: Segment[]): number {
  let n = 0;
  for (const s of segments) n += Array.from(s.text).length;
  return n;
}

/**
 * Parses `input` into rows of segments. A trailing newline does not make an empty last row.
 * `\r\n` is a newline; a lone `\r` returns to the start of the row, and what follows
 * overwrites it character by character, as a terminal does — unless `overwrite` is false (text
 * that is not a program's output, such as the echo of a command whose argument holds a `\r`:
 * there it is shown inert, as what the command really is).
 */
export function ansiToRows(input: string, { overwrite = true } = {}): Row[] {
  const rows: Row[] = [{ segments: [], rewritten: false }];
  const sgr = plain();
  let buf = '';
  // The cursor's column after a carriage return; null while it is at the end of the row (the
  // common case, where writing is appending).
  let col: number | null = null;
  const put = (text: string, cls: string) => {
    const row = rows[rows.length - 1];
    if (col === null) {
      row.segments.push({ text, cls });
      return;
    }
    const before = width(row.segments);
    row.segments = writeOver(row.segments, col, text, cls);
    if (col < before) row.rewritten = true;
    col += [...text].length;
    if (col >= width(row.segments)) col = null;
  };
  const flush = () => {
    if (buf) put(buf, classOf(sgr));
    buf = '';
  };
  const inert = (text: string) => {
    flush();
    put(text, 'inert');
  };
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch === '\n') {
      flush();
      rows.push({ segments: [], rewritten: false });
      col = null;
      i++;
    } else if (ch === '\r' && input[i + 1] === '\n') {
      i++;
    } else if (ch === '\r' && overwrite) {
      flush();
      if (rows[rows.length - 1].segments.length > 0) col = 0;
      i++;
    } else if (ch === '\x1b') {
      const next = input[i + 1];
      if (next === '[') {
        // CSI: parameters 0x30–0x3f, intermediates 0x20–0x2f, one final byte 0x40–0x7e.
        const m = /^\x1b\[([0-?]*)([ -/]*)([@-~])/.exec(input.slice(i, i + 64));
        if (m && m[3] === 'm' && m[2] === '' && /^[0-9;:]*$/.test(m[1])) {
          flush();
          applySgr(sgr, m[1]);
          i += m[0].length;
        } else if (m) {
          inert('␛' + m[0].slice(1));
          i += m[0].length;
        } else {
          inert('␛');
          i++;
        }
      } else if (next === ']' || next === 'P' || next === '_' || next === '^') {
        // OSC/DCS/APC/PM strings end at BEL or ESC \; show them whole, inert.
        const rest = input.slice(i + 2);
        const end = rest.search(/\x07|\x1b\\/);
        const body = end < 0 ? rest.slice(0, 256) : rest.slice(0, end);
        const term = end < 0 ? '' : rest[end] === '\x07' ? '␇' : '␛\\';
        inert('␛' + next + body.replace(new RegExp(INERT_CHAR, 'g'), visibleControl) + term);
        i += 2 + body.length + (end < 0 ? 0 : rest[end] === '\x07' ? 1 : 2);
      } else if (next !== undefined && next !== '\n') {
        inert('␛' + next);
        i += 2;
      } else {
        inert('␛');
        i++;
      }
    } else if (INERT_CHAR.test(ch)) {
      inert(visibleControl(ch));
      i++;
    } else {
      // An ordinary character: take the whole run up to the next one that needs a look.
      SPECIAL.lastIndex = i + 1;
      const next = SPECIAL.exec(input);
      const end = next ? next.index : input.length;
      buf += input.slice(i, end);
      i = end;
    }
  }
  flush();
  const last = rows[rows.length - 1];
  if (rows.length > 1 && last.segments.length === 0) rows.pop();
  return rows;
}

/** Like {@link ansiToRows}, the segments only. */
export function ansiToLines(input: string): Segment[][] {
  return ansiToRows(input).map((r) => r.segments);
}

/** The text of a line as the console shows it (what Copy puts on the clipboard). */
export function lineText(segments: Segment[]): string {
  return segments.map((s) => s.text).join('');
}
