import { describe, expect, it } from 'vitest';
import { ansiToLines, ansiToRows, lineText } from './ansi';

const text = (s: string) => ansiToLines(s).map(lineText);

describe('ansiToLines', () => {
  it('turns colours into classes from the fixed list', () => {
    const [line] = ansiToLines('\x1b[31mred\x1b[0m plain \x1b[1;92mbold green\x1b[m');
    expect(line).toEqual([
      { text: 'red', cls: 'fg-red' },
      { text: ' plain ', cls: '' },
      { text: 'bold green', cls: 'fg-bright-green b' },
    ]);
  });

  it('shows clear-screen and cursor moves as visible inert text', () => {
    const [line] = ansiToLines('before\x1b[2J\x1b[H\x1b[1A\x1b[Kafter');
    expect(line.map((s) => [s.text, s.cls])).toEqual([
      ['before', ''],
      ['␛[2J', 'inert'],
      ['␛[H', 'inert'],
      ['␛[1A', 'inert'],
      ['␛[K', 'inert'],
      ['after', ''],
    ]);
  });

  it('overwrites the row from its start after a carriage return, as a terminal does', () => {
    // dpkg's and curl's progress: each state is written over the last.
    expect(text('Progress: [ 10%]\rProgress: [ 60%]\rProgress: [100%]')).toEqual([
      'Progress: [100%]',
    ]);
    // A shorter text overwrites only its own width.
    expect(text('abcdef\rXY')).toEqual(['XYcdef']);
    // A carriage return never reaches another row.
    expect(text('one\ntwo\rTWO')).toEqual(['one', 'TWO']);
  });

  it('shows a carriage return inert where it is not to be obeyed', () => {
    const rows = ansiToRows("$ printf 'a\rb'", { overwrite: false });
    expect(rows.map((r) => [lineText(r.segments), r.rewritten])).toEqual([
      ["$ printf 'a␍b'", false],
    ]);
  });

  it('marks a row a carriage return overwrote, and only such a row', () => {
    const rows = ansiToRows('E: install failed\r✅ done\nplain\ntrailing\r');
    expect(rows.map((r) => [lineText(r.segments), r.rewritten])).toEqual([
      ['✅ donetall failed', true],
      ['plain', false],
      ['trailing', false],
    ]);
  });

  it('keeps colours through an overwrite and leaves other escapes inert', () => {
    const [row] = ansiToRows('\x1b[31mold text\x1b[0m\r\x1b[32mnew\x1b[0m\x1b[2K');
    // Erase-line stays inert: it does not erase, it takes its own width like any text.
    expect(row.segments).toEqual([
      { text: 'new', cls: 'fg-green' },
      { text: '␛[2K', cls: 'inert' },
      { text: 't', cls: 'fg-red' },
    ]);
    expect(row.rewritten).toBe(true);
  });

  it('treats CRLF as one newline and drops a trailing newline', () => {
    expect(text('one\r\ntwo\n')).toEqual(['one', 'two']);
  });

  it('shows OSC strings (window title, hyperlinks) inert', () => {
    const [line] = ansiToLines('\x1b]0;pwned\x07x\x1b]8;;http://evil\x1b\\link');
    expect(line.filter((s) => s.cls === 'inert').map((s) => s.text)).toEqual([
      '␛]0;pwned␇',
      '␛]8;;http://evil␛\\',
    ]);
    expect(lineText(line)).toContain('link');
  });

  it('shows other control characters and bidi overrides as visible marks', () => {
    expect(text('a\bb\x00c\u202Ed\u009b2J')).toEqual(['a␈b␀c<U+202E>d<U+009B>2J']);
  });

  it('skips 256-colour and true-colour arguments without inventing classes', () => {
    const [line] = ansiToLines('\x1b[38;5;196mx\x1b[48;2;1;2;3my');
    expect(line.map((s) => s.cls)).toEqual(['', '']);
    expect(lineText(line)).toBe('xy');
  });

  it('leaves markup as text: it is never HTML', () => {
    expect(text('<img src=x onerror=alert(1)>')).toEqual(['<img src=x onerror=alert(1)>']);
  });

  it('handles a lone escape at the end', () => {
    expect(ansiToLines('x\x1b')[0]).toEqual([
      { text: 'x', cls: '' },
      { text: '␛', cls: 'inert' },
    ]);
  });
});
