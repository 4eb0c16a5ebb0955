/**
 * Turns command output into styled text segments for the console, safely (docs/threats.md, row 20).
 *
 * Colours and bold/italic/underline become CSS classes from a fixed list. Every other escape
 * sequence (clear screen, cursor moves, window titles, hyperlinks), carriage returns, other
 * control characters and bidirectional overrides are kept as *visible* inert text, so output
 * can neither wipe what came before it nor overwrite a line to fake a success. Segments are
 * rendered as text nodes, never as HTML.
 */

export type Segment = { text: string; cls: string };

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

/**
 * Parses `input` into lines of segments. A trailing newline does not make an empty last line.
 * `\r\n` is a newline; a lone `\r` is shown inert.
 */
export function ansiToLines(input: string): Segment[][] {
  const lines: Segment[][] = [[]];
  const sgr = plain();
  let buf = '';
  const flush = () => {
    if (buf) lines[lines.length - 1].push({ text: buf, cls: classOf(sgr) });
    buf = '';
  };
  const inert = (text: string) => {
    flush();
    lines[lines.length - 1].push({ text, cls: 'inert' });
  };
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch === '\n') {
      flush();
      lines.push([]);
      i++;
    } else if (ch === '\r' && input[i + 1] === '\n') {
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
  if (lines.length > 1 && lines[lines.length - 1].length === 0) lines.pop();
  return lines;
}

/** The text of a line as the console shows it (what Copy puts on the clipboard). */
export function lineText(segments: Segment[]): string {
  return segments.map((s) => s.text).join('');
}
