/** 0.5 s, 1 s, 2 s, … up to `maxMs`: how long a connector waits after `failures` failures in a row. */
export function backoffMs(failures: number, maxMs: number): number {
  return Math.min(maxMs, 500 * 2 ** Math.min(failures - 1, 16))
}
