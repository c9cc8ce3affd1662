export interface Clock {
  now(): Date
  /** The same instant in epoch milliseconds, without a Date (what the validation hot path reads). */
  ms(): number
}

export const systemClock: Clock = { now: () => new Date(), ms: () => Date.now() }

/** A clock tests can set and advance. */
export function fixedClock(start: Date | string): Clock & { set(d: Date | string): void; advance(ms: number): void } {
  let current = new Date(start)
  return {
    now: () => new Date(current),
    ms: () => current.getTime(),
    set: (d) => {
      current = new Date(d)
    },
    advance: (ms) => {
      current = new Date(current.getTime() + ms)
    },
  }
}
