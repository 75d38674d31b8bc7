// Connect timeouts without a timer per connection. Every upstream connect of a plane has the same
// timeout, so deadlines expire in the order they were added: a FIFO with one timer armed for its
// head is a complete timer wheel for this case. Adding and cancelling are O(1) and allocate
// nothing per entry; a cancelled slot only lets go of its item (so a finished connection is not
// kept alive until its deadline) and is skipped when its time comes.

export interface DeadlineQueueOptions {
  timeoutMs: number;
  now?: () => number;
}

export class DeadlineQueue<T> {
  private items: (T | undefined)[] = [];
  private deadlines: number[] = [];
  /** Index of items[0] in the sequence of all slots ever added (slot ids stay valid across compaction). */
  private base = 0;
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(
    opts: DeadlineQueueOptions,
    private readonly expire: (item: T) => void,
  ) {
    this.timeoutMs = opts.timeoutMs;
    this.now = opts.now ?? Date.now;
  }

  /** Schedules `item` to expire after the timeout; returns a slot id for cancel(). */
  add(item: T): number {
    const id = this.base + this.items.length;
    this.items.push(item);
    this.deadlines.push(this.now() + this.timeoutMs);
    if (this.timer === undefined) this.arm(this.timeoutMs);
    return id;
  }

  /** Forgets a slot (idempotent; a slot that already expired is ignored). */
  cancel(id: number): void {
    const i = id - this.base;
    if (i >= this.head && i < this.items.length) this.items[i] = undefined;
  }

  /** Slots not yet expired or skipped (cancelled ones included until their deadline). */
  size(): number {
    return this.items.length - this.head;
  }

  /** Stops the timer; pending items never expire. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.deadlines = [];
    this.base += this.head;
    this.head = 0;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(1, ms));
    // The agent's lifetime is decided by its listeners, not by pending connect deadlines.
    this.timer.unref();
  }

  private fire(): void {
    // this.timer stays set while items expire, so an add() from an expire callback (a retry's
    // new connect) does not arm a second timer.
    const now = this.now();
    while (this.head < this.items.length) {
      const deadline = this.deadlines[this.head] ?? 0;
      if (deadline > now) break;
      const item = this.items[this.head];
      this.items[this.head] = undefined;
      this.head++;
      if (item !== undefined) this.expire(item);
    }
    if (this.head === this.items.length) {
      this.timer = undefined;
      this.base += this.head;
      this.items = [];
      this.deadlines = [];
      this.head = 0;
      return;
    }
    // Compact once the expired prefix dominates, so the arrays do not grow without bound under
    // a steady stream of connects.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.deadlines = this.deadlines.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
    this.arm((this.deadlines[this.head] ?? now) - now);
  }
}
