/**
 * A cheap upper bound on how deep a YAML text nests, checked before the yaml package parses it. That parser is
 * recursive: a few KB of `- - - - …` or `[[[[…` overflow its stack, and with yaml 2.9 on Node 20 a second such
 * parse in the same process aborts the whole process (V8 "RegExpCompiler Allocation failed - process out of
 * memory", not a catchable error) — a rules file like that would kill the daemon at its next reload. No config or
 * rules file needs more than a dozen levels; MAX_YAML_DEPTH leaves plenty of room.
 */
export const MAX_YAML_DEPTH = 128;

/**
 * The line at which the text nests deeper than `max` levels, or undefined. Over-estimates (it counts block
 * indentation steps, `- `/`? ` indicators and open flow brackets outside quotes), never under-estimates.
 */
export function yamlTooDeepAt(text: string, max: number = MAX_YAML_DEPTH): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const content = line.trimStart();
    if (content === '' || content.startsWith('#')) continue;
    const indent = line.length - content.length;
    if (flow === 0) {
      while (indents.length > 0 && (indents.at(-1) as number) >= indent) indents.pop();
      indents.push(indent);
    }
    let indicators = 0;
    const compact = /^(?:[-?](?:[ \t]+|$))+/.exec(content);
    if (compact) indicators = (compact[0].match(/[-?]/g) ?? []).length;
    let quote: string | undefined;
    // A quote opens a quoted scalar and `#` a comment only where a token starts (YAML 1.2 §6.6, §7.3): `it's` is plain.
    let prev = ' ';
    for (const ch of content) {
      const atToken = prev === ' ' || prev === '\t' || prev === '[' || prev === '{' || prev === ',' || prev === ':';
      if (quote !== undefined) {
        if (ch === quote) quote = undefined;
      } else if ((ch === '"' || ch === "'") && atToken) quote = ch;
      else if (ch === '#' && (prev === ' ' || prev === '\t')) break;
      else if (ch === '[' || ch === '{') flow += 1;
      else if ((ch === ']' || ch === '}') && flow > 0) flow -= 1;
      prev = ch;
      if (indents.length + indicators + flow > max) return i + 1;
    }
    if (indents.length + indicators + flow > max) return i + 1;
  }
  return undefined;
}
