/**
 * One pass over valid JSON text (call it after JSON.parse succeeded), reporting what JSON.parse
 * forgets: each number as written (exact-numbers.ts) and each key of each object, even a key the
 * parse then overwrote (duplicate-keys.ts). Strings are skipped whole.
 */
export type JsonPath = (string | number)[];

export interface JsonVisitor {
  /** A number token as the client wrote it; `path()` is where (object keys and array indexes from the top). */
  number?(token: string, path: () => JsonPath): void;
  /** A key of an object; `object` identifies that object within this walk, `objectPath()` is where it is. */
  key?(key: string, object: number, objectPath: () => JsonPath): void;
}

const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export function walkJson(json: string, visitor: JsonVisitor): void {
  // One frame per open object or array: the key or index its current value sits at.
  const frames: { key: string | number; inObject: boolean; expectingKey: boolean; id: number }[] = [];
  let objects = 0;
  const pathOf = (depth: number) => frames.slice(0, depth).map((f) => f.key);
  for (let i = 0; i < json.length;) {
    const c = json[i]!;
    const top = frames[frames.length - 1];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (top?.inObject && top.expectingKey) {
        top.key = JSON.parse(json.slice(i, end + 1)) as string;
        top.expectingKey = false;
        const depth = frames.length - 1;
        visitor.key?.(top.key, top.id, () => pathOf(depth));
      }
      i = end + 1;
    } else if (c === '{' || c === '[') {
      frames.push({ key: 0, inObject: c === '{', expectingKey: c === '{', id: c === '{' ? objects++ : -1 });
      i++;
    } else if (c === '}' || c === ']') {
      frames.pop();
      i++;
    } else if (c === ',') {
      if (top) {
        if (top.inObject) top.expectingKey = true;
        else top.key = (top.key as number) + 1;
      }
      i++;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const token = NUMBER.exec(json)?.[0] ?? c;
      const depth = frames.length;
      visitor.number?.(token, () => pathOf(depth));
      i += token.length;
    } else {
      i++; // whitespace, ':', true, false, null
    }
  }
}
