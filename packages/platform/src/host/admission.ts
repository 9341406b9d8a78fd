// Load shedding in front of the database pool: at most `slots` requests (the pool's size) do their
// work at once; the others wait in a bounded FIFO queue. A request that finds the queue full is
// refused at once (503 with Retry-After, as problem+json), without touching the pool; one that still
// waits after `maxWaitMs` is refused then. Under overload callers learn within milliseconds to come
// back later, instead of waiting seconds for a connection and then failing anyway. The bound is a
// count, not a predicted wait: what a request will wait depends on the database's speed at the
// moment, which a busy machine makes too noisy to refuse on.
import { problems } from "../problems.ts";

export interface AdmissionOptions {
  /** Requests working at once (the database pool's size). */
  slots: number;
  /** Requests waiting at most. */
  maxQueue: number;
  /** Longest a request waits in the queue. */
  maxWaitMs: number;
}

interface Queued {
  grant(): void;
  timer: NodeJS.Timeout;
}

/** The answer to a request that would wait too long: a 503 the caller may retry after 1 s. */
export function overloaded() {
  return problems.unavailable("The service is busy; retry shortly.", 1);
}

export class Admission {
  private active = 0;
  private readonly queue: Queued[] = [];
  /** Counters for metrics and tests. */
  readonly stats = { admitted: 0, shed: 0, timedOut: 0 };

  constructor(private readonly options: AdmissionOptions) {}

  /** Runs `work` in a slot, or throws the 503 problem when the request cannot get one soon. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.options.slots) await this.wait();
    else this.active += 1;
    this.stats.admitted += 1;
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private wait(): Promise<void> {
    const { maxQueue, maxWaitMs } = this.options;
    if (this.queue.length >= maxQueue) {
      this.stats.shed += 1;
      return Promise.reject(overloaded());
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Queued = {
        grant: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const at = this.queue.indexOf(entry);
          if (at >= 0) this.queue.splice(at, 1);
          this.stats.timedOut += 1;
          reject(overloaded());
        }, maxWaitMs),
      };
      this.queue.push(entry);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    // The slot passes straight to the next request in line.
    if (next) next.grant();
    else this.active -= 1;
  }
}
