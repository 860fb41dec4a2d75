/**
 * The largest of `values`, or `floor` when there are none. A loop, not `Math.max(...values)`: spread
 * into arguments, an array of some 100,000 numbers overflows the call stack, and a chaos run at twice
 * capacity stores more records than that (the checker failed that way on one CI run of overload.test.ts).
 */
export function maxOf(values: Iterable<number>, floor = -Infinity): number {
  let max = floor;
  for (const value of values) if (value > max) max = value;
  return max;
}
