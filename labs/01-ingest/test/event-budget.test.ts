import { describe, expect, it } from 'vitest';
import { EventBudget } from '../src/event-budget.js';

describe('EventBudget (the /batch per-IP limit, in events)', () => {
  it('refuses a batch that does not fit what is left of the window, whole, and starts afresh with the next window', () => {
    const budget = new EventBudget(1_000, 60_000);
    expect(budget.take('a', 600, 0)).toEqual({ ok: true, remaining: 400 });
    expect(budget.take('a', 401, 1_000)).toEqual({ ok: false, remaining: 400, retryAfterS: 59 });
    expect(budget.take('b', 1_000, 1_000)).toEqual({ ok: true, remaining: 0 }); // another key, its own budget
    expect(budget.take('a', 400, 2_000)).toEqual({ ok: true, remaining: 0 });
    expect(budget.take('a', 1, 59_999)).toEqual({ ok: false, remaining: 0, retryAfterS: 1 });
    expect(budget.take('a', 1_000, 60_000)).toEqual({ ok: true, remaining: 0 });
  });
});
