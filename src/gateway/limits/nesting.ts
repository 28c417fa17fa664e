// A lexical pre-check of an operation's text, before graphql's parser sees it. The parser (and
// some validation rules) recurse once per nesting level, so a few kilobytes of `{{{{…` or
// `ofType { ofType { …` overflow the stack: a RangeError that, depending on how deep the stack
// already was, surfaced as an internal error or closed a WebSocket with 4500. Counting brackets is
// linear, allocation-free and cannot overflow; real operations nest far less than the cap (the
// standard introspection query: 14 levels).

/** Deepest bracket nesting ({, [, () any operation text may have. */
export const MAX_NESTING = 64;

/**
 * Whether the text nests brackets deeper than `limit`, ignoring brackets inside strings, block
 * strings and comments. Stops at the first level over the limit.
 */
export function nestsTooDeep(text: string, limit = MAX_NESTING): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < n && text.charCodeAt(i) !== 0x0a && text.charCodeAt(i) !== 0x0d) i++;
    } else if (c === 0x22 /* " */) {
      if (text.startsWith('"""', i)) {
        const end = text.indexOf('"""', i + 3);
        i = end < 0 ? n : end + 2;
      } else {
        for (i++; i < n; i++) {
          const d = text.charCodeAt(i);
          if (d === 0x5c /* \ */) i++;
          else if (d === 0x22 || d === 0x0a || d === 0x0d) break;
        }
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */ || c === 0x28 /* ( */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */ || c === 0x29 /* ) */) {
      if (depth > 0) depth--;
    }
  }
  return false;
}
