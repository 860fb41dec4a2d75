/**
 * The customer a request's write key belongs to (lab 07): set by the write-key check, read by
 * enrich() and the per-customer rate limit. Absent when the API checks no keys.
 */
const customers = new WeakMap<object, string>();

export function setCustomer(request: object, customerId: string): void {
  customers.set(request, customerId);
}

export function customerOf(request: object): string | undefined {
  return customers.get(request);
}
