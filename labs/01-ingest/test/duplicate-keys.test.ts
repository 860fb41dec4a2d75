/** The duplicate-key finder on fixed texts (no Kafka): what it finds, and what its cheap pre-test lets through. */
import { describe, expect, it } from 'vitest';
import { duplicateKeys, mayHoldDuplicateKeys } from '../src/duplicate-keys.js';

const found = (json: string) => duplicateKeys(json).map((d) => `${d.path.join('.') || '(body)'} ${d.text}`);
const preTest = (json: string) => mayHoldDuplicateKeys(json, JSON.parse(json));

describe('keys written twice in one object', () => {
  it('finds each repeat with the path of its object, at any depth, in arrays, and spelt with escapes', () => {
    expect(found('{"a":1,"a":2,"a":3}')).toEqual(['(body) "a"', '(body) "a"']);
    expect(found('{"p":{"x":[{"k":1},{"k":1,"k":2}]}}')).toEqual(['p.x.1 "k"']);
    expect(found('[{"e":1},{"e":1,"f":2,"e":3}]')).toEqual(['1 "e"']);
    expect(found('{"plan":1,"\\u0070lan":2}')).toEqual(['(body) "plan"']);
    expect(found('{"q":"\\"","q":"}"}')).toEqual(['(body) "q"']);
  });

  it('finds none where a key repeats only across objects or as a value', () => {
    expect(found('{"a":{"a":{"a":"a"}},"b":["a",{"a":1}]}')).toEqual([]);
    expect(found('{"k":"{\\"k\\":1,\\"k\\":2}"}')).toEqual([]);
  });

  it('the pre-test is false only when the text has no more keys than the parsed value, so it never hides a repeat', () => {
    expect(preTest('{"user_id":"u","event_type":"x","properties":{"plan":"pro","a":[{"plan":"plan"}]}}')).toBe(false);
    expect(preTest('{"a":1,"a":2}')).toBe(true);
    expect(preTest('{ "a" : 1 ,\n "a"\t:\r\n2 }')).toBe(true);
    expect(found('{ "a" : 1 ,\n "a"\t:\r\n2 }')).toEqual(['(body) "a"']);
    expect(preTest('{"a":":","b":" :"}')).toBe(true); // a string holding a quote-colon: walked, none found
    expect(found('{"a":":","b":" :"}')).toEqual([]);
    expect(preTest('{"plan":1,"\\u0070lan":2}')).toBe(true); // an escape: always walked
    // 200,000 nested arrays: neither the pre-test nor the walk recurse.
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expect(preTest(deep)).toBe(false);
    expect(found(deep)).toEqual([]);
  });
});
