/**
 * Counts the requests of a route group that are running on this replica and admits a new
 * one only below `capacity`. In memory on purpose: capacity is a property of this process
 * (sockets, memory, upstream connections), and a shared counter would leak slots whenever
 * a replica died with requests in flight.
 */
export class InFlightGate {
  readonly capacity: number;
  #inFlight = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** A release function when admitted (it frees the slot once, however often called). */
  tryEnter(): (() => void) | undefined {
    if (this.#inFlight >= this.capacity) return undefined;
    this.#inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
    };
  }
}
