/**
 * The part of a GPIO line that is the same for every binding: argument checks, the closed state, "pending
 * reads/writes settle first" on close, and watcher bookkeeping. A binding only supplies the raw hooks below, so
 * the real and sim bindings cannot drift apart in behaviour (docs/ARCHITECTURE.md "Contract, real and sim bindings").
 *
 * All values crossing these hooks are *logical* (after active-low inversion): sysfs inverts in the kernel
 * (`active_low` attribute), the sim inverts itself.
 */
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { GpioEdgeEvent, GpioValue, IGpioLine } from './gpio-bus.ts';
import { checkGpioValue, edgeReports, type NormalisedGpioOptions } from './gpio-validation.ts';

export abstract class GpioLineBase implements IGpioLine {
  readonly line: number;
  readonly options: Readonly<NormalisedGpioOptions>;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private writeChain: Promise<unknown> = Promise.resolve();
  /** Listener calls that threw (see deliverEdge). */
  listenerErrors = 0;
  private readonly listeners = new Set<(event: GpioEdgeEvent) => void>();
  private readonly now: () => number;
  private readonly onClosed: () => void;

  /** `onClosed` tells the owning bus the line number is free again (whether or not release succeeded). */
  constructor(line: number, options: NormalisedGpioOptions, now: () => number, onClosed: () => void) {
    this.line = line;
    this.options = Object.freeze({ ...options });
    this.now = now;
    this.onClosed = onClosed;
  }

  /** Reads the logical value. */
  protected abstract readRaw(): Promise<GpioValue>;
  /** Drives the logical value (outputs only; already validated). */
  protected abstract writeRaw(value: GpioValue): Promise<void>;
  /** The first watcher arrived: start listening for edges, then call deliverEdge() for each. */
  protected abstract startWatching(): void;
  /** The last watcher left, or the line is closing: stop listening. */
  protected abstract stopWatching(): void;
  /** Unexport the line. Called once, after pending operations have settled. */
  protected abstract release(): Promise<void>;

  read(): Promise<GpioValue> {
    return this.track(() => this.readRaw());
  }

  write(value: GpioValue): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.options.direction !== 'out') {
      return Promise.reject(
        new DriverError(DriverErrorCode.INVALID_ARGUMENT, `GPIO ${this.line} is an input; write() needs an output`),
      );
    }
    try {
      checkGpioValue(value);
    } catch (error) {
      return Promise.reject(error);
    }
    // Writes reach the line in call order: a real binding's write is an fs.write on libuv's thread pool, where two
    // writes in flight can land in either order — "on" then the safe "off" must never end as "on".
    const run = this.writeChain.then(() => this.writeRaw(value));
    this.writeChain = run.catch(() => undefined);
    return this.track(() => run);
  }

  watch(listener: (event: GpioEdgeEvent) => void): () => void {
    if (this.closed) throw this.closedError();
    if (this.options.edge === 'none') {
      throw new DriverError(
        DriverErrorCode.INVALID_ARGUMENT,
        `GPIO ${this.line} was opened without an edge ('rising', 'falling' or 'both'); watch() has nothing to report`,
      );
    }
    if (typeof listener !== 'function') {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, 'GPIO watch() needs a listener function');
    }
    // A wrapper per call, so the same function watched twice is two subscriptions with two unsubscribes.
    const entry = (event: GpioEdgeEvent): void => listener(event);
    this.listeners.add(entry);
    if (this.listeners.size === 1) {
      try {
        this.startWatching();
      } catch (error) {
        this.listeners.delete(entry);
        throw error;
      }
    }
    return () => {
      if (!this.listeners.delete(entry)) return;
      if (this.listeners.size === 0 && !this.closed) this.stopWatching();
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * Bindings call this when they see an edge. Edges the line was not configured for are dropped here too, so a
   * binding that over-reports (sysfs 'both' racing a fast pulse) still honours the contract.
   */
  protected deliverEdge(value: GpioValue, at: number = this.now()): void {
    if (this.closed || !edgeReports(this.options.edge, value)) return;
    const event: GpioEdgeEvent = { value, at };
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // One failing listener must not starve the others, nor throw into the binding's event handler: in the
        // daemon that would be an uncaught exception taking every agent down with it. Counted, not rethrown.
        this.listenerErrors += 1;
      }
    }
  }

  private track<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    const promise = operation();
    this.pending.add(promise);
    const forget = (): void => {
      this.pending.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    if (this.listeners.size > 0) {
      this.listeners.clear();
      this.stopWatching();
    }
    await Promise.allSettled([...this.pending]);
    try {
      await this.release();
    } finally {
      this.onClosed();
    }
  }

  private closedError(): DriverError {
    return new DriverError(DriverErrorCode.CLOSED, `GPIO ${this.line} is closed`);
  }
}
