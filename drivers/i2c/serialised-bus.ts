/**
 * The behaviour of an II2cBus that does not depend on what is underneath: argument checks, the FIFO that makes
 * every operation and transaction run alone in call order, bounded retries of transient errnos, DriverError
 * wrapping and close(). Real (i2c-bus) and sim bindings are thin RawI2cTransports under this one class, so
 * they cannot differ in any of it (docs/ARCHITECTURE.md "Contract, real and sim bindings").
 *
 * Retried errnos (Documentation/i2c/fault-codes.rst): EIO (generic I/O failure), EREMOTEIO (NACK from the
 * device: i2c-bcm2835 on a Pi and i2c-tegra on a Jetson report NACKs this way; a chip busy converting may NACK),
 * ETIMEDOUT (clock stretched too long, SMBus timeout) and EAGAIN (arbitration lost to another master).
 * NOT retried: ENXIO — "the address phase didn't get an ACK ... usually it means there's nothing listening at
 * that address": a wiring or configuration fault, which retrying only delays. Nor anything else (EINVAL,
 * EOPNOTSUPP, EPROTO...): those are deterministic.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { systemClock, type Clock } from '../../runtime/clock.ts';
import { DriverError, DriverErrorCode, isDriverError } from '../errors.ts';
import {
  I2C_BLOCK_MAX,
  I2C_PLAIN_MAX,
  checkAddress,
  checkByte,
  checkData,
  checkLength,
  checkRegister,
} from './i2c-arguments.ts';
import type { I2cIo, II2cBus } from './i2c-bus.ts';

/**
 * What a binding provides: the six transfers, unchecked and unserialised, failing with errno-style errors
 * (`code: 'EIO'`...), plus close(). Called only with validated arguments, never concurrently, and close()
 * only after the last transfer settled.
 */
export interface RawI2cTransport extends I2cIo {
  close(): Promise<void>;
}

export const RETRYABLE_ERRNO: ReadonlySet<string> = new Set(['EIO', 'EREMOTEIO', 'ETIMEDOUT', 'EAGAIN']);

export interface I2cRetryOptions {
  /** Attempts per operation, the first included. Default 3. */
  attempts?: number;
  /** Pause between attempts: long enough for a chip to finish a conversion-time NACK. Default 2 ms. */
  retryDelayMs?: number;
  /** Where the pause comes from (tests inject one that does not wait). Default the system clock. */
  clock?: Pick<Clock, 'setTimeout'>;
}

/** The errno code of a binding error (`code: 'EIO'` as Node's ErrnoException and i2c-bus's errors carry it). */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * One transaction's exclusive use of the bus; `active` turns false when its function settles. Its own
 * operations queue on `tail`, so even overlapping calls inside one transaction (Promise.all over io) reach the
 * raw transport one at a time, in call order. Only leaf transfers ever wait on that queue, so it cannot deadlock.
 */
interface TransactionScope {
  active: boolean;
  tail: Promise<void>;
}

type Perform = <T>(label: string, check: () => void, transfer: () => Promise<T>) => Promise<T>;

const hex = (n: number): string => `0x${Number(n).toString(16).padStart(2, '0')}`;

/** The six operations over `perform`, which decides how they run (queued, or inside a transaction). */
function makeIo(perform: Perform, raw: RawI2cTransport): I2cIo {
  return {
    readByte(address, register) {
      const check = (): void => {
        checkAddress(address);
        checkRegister(register);
      };
      return perform(`readByte ${hex(address)}[${hex(register)}]`, check, () => raw.readByte(address, register));
    },
    writeByte(address, register, value) {
      const check = (): void => {
        checkAddress(address);
        checkRegister(register);
        checkByte(value);
      };
      return perform(`writeByte ${hex(address)}[${hex(register)}]`, check, () =>
        raw.writeByte(address, register, value),
      );
    },
    readBlock(address, register, length) {
      const check = (): void => {
        checkAddress(address);
        checkRegister(register);
        checkLength(length, I2C_BLOCK_MAX);
      };
      return perform(`readBlock ${hex(address)}[${hex(register)}]`, check, () =>
        raw.readBlock(address, register, length),
      );
    },
    writeBlock(address, register, data) {
      const check = (): void => {
        checkAddress(address);
        checkRegister(register);
        checkData(data, I2C_BLOCK_MAX);
      };
      return perform(`writeBlock ${hex(address)}[${hex(register)}]`, check, () =>
        raw.writeBlock(address, register, data),
      );
    },
    write(address, data) {
      const check = (): void => {
        checkAddress(address);
        checkData(data, I2C_PLAIN_MAX);
      };
      return perform(`write ${hex(address)}`, check, () => raw.write(address, data));
    },
    read(address, length) {
      const check = (): void => {
        checkAddress(address);
        checkLength(length, I2C_PLAIN_MAX);
      };
      return perform(`read ${hex(address)}`, check, () => raw.read(address, length));
    },
  };
}

export class SerialisedI2cBus implements II2cBus {
  readonly busNumber: number;
  private readonly raw: RawI2cTransport;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly clock: Pick<Clock, 'setTimeout'>;
  /** Settles when everything queued so far has run; never rejects. */
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Lets a call made on the bus itself from inside a transaction run directly instead of deadlocking. */
  private readonly scope = new AsyncLocalStorage<TransactionScope>();
  private readonly queued: I2cIo;

  constructor(busNumber: number, raw: RawI2cTransport, options: I2cRetryOptions = {}) {
    const attempts = options.attempts ?? 3;
    const retryDelayMs = options.retryDelayMs ?? 2;
    if (!Number.isInteger(attempts) || attempts < 1) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `I2C attempts must be an integer >= 1, got ${attempts}`);
    }
    if (!(retryDelayMs >= 0)) {
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `I2C retryDelayMs must be >= 0, got ${retryDelayMs}`);
    }
    this.busNumber = busNumber;
    this.raw = raw;
    this.attempts = attempts;
    this.retryDelayMs = retryDelayMs;
    this.clock = options.clock ?? systemClock;
    this.queued = makeIo((label, check, transfer) => this.perform(undefined, label, check, transfer), raw);
  }

  readByte(address: number, register: number): Promise<number> {
    return this.queued.readByte(address, register);
  }
  writeByte(address: number, register: number, value: number): Promise<void> {
    return this.queued.writeByte(address, register, value);
  }
  readBlock(address: number, register: number, length: number): Promise<Buffer> {
    return this.queued.readBlock(address, register, length);
  }
  writeBlock(address: number, register: number, data: Buffer): Promise<void> {
    return this.queued.writeBlock(address, register, data);
  }
  write(address: number, data: Buffer): Promise<void> {
    return this.queued.write(address, data);
  }
  read(address: number, length: number): Promise<Buffer> {
    return this.queued.read(address, length);
  }

  transaction<T>(fn: (io: I2cIo) => Promise<T>): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(new DriverError(DriverErrorCode.INVALID_ARGUMENT, 'transaction() needs a function'));
    }
    const ambient = this.scope.getStore();
    // A transaction inside a transaction already has the bus: run it in place (queuing it would deadlock).
    if (ambient?.active) {
      try {
        return Promise.resolve(fn(this.ioFor(ambient)));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.enqueue(async () => {
      const scope: TransactionScope = { active: true, tail: Promise.resolve() };
      try {
        return await this.scope.run(scope, () => fn(this.ioFor(scope)));
      } finally {
        scope.active = false;
        // While an AsyncLocalStorage is enabled, Node installs promise hooks for the whole thread: every promise of
        // the daemon's main thread (each HAL call, each MQTT message) then pays for them. Transactions of one bus
        // never overlap, so none is running now: disable until the next run(). A call that comes later from this
        // transaction's leftovers finds no store and is queued, as it did when it found this ended scope.
        this.scope.disable();
      }
    });
  }

  /** The running operation or transaction settles; queued ones reject ERR_DRIVER_CLOSED; then the raw bus closes. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private ioFor(scope: TransactionScope): I2cIo {
    return makeIo((label, check, transfer) => this.perform(scope, label, check, transfer), this.raw);
  }

  private perform<T>(
    scope: TransactionScope | undefined,
    label: string,
    check: () => void,
    transfer: () => Promise<T>,
  ): Promise<T> {
    try {
      check();
    } catch (error) {
      return Promise.reject(error);
    }
    if (scope) {
      if (!scope.active) {
        return Promise.reject(
          new DriverError(DriverErrorCode.CLOSED, `${label}: the transaction this io belongs to has ended`),
        );
      }
      return this.withinTransaction(scope, () => this.withRetries(label, transfer));
    }
    const ambient = this.scope.getStore();
    if (ambient?.active) return this.withinTransaction(ambient, () => this.withRetries(label, transfer));
    return this.enqueue(() => this.withRetries(label, transfer));
  }

  private withinTransaction<T>(scope: TransactionScope, job: () => Promise<T>): Promise<T> {
    const run = scope.tail.then(job);
    const settled = (): void => undefined;
    scope.tail = run.then(settled, settled);
    return run;
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    const run = this.tail.then(() => {
      // Queued before close(), reached after it: rejected without touching the bus.
      if (this.closed) throw this.closedError();
      return job();
    });
    const settled = (): void => undefined;
    this.tail = run.then(settled, settled);
    return run;
  }

  private async withRetries<T>(label: string, transfer: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await transfer();
      } catch (error) {
        if (isDriverError(error)) throw error;
        const code = errnoCode(error);
        if (code !== undefined && RETRYABLE_ERRNO.has(code) && attempt < this.attempts) {
          await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.retryDelayMs));
          continue;
        }
        const tries = attempt > 1 ? ` after ${attempt} attempts` : '';
        const why = code ?? (error instanceof Error ? error.message : String(error));
        throw new DriverError(DriverErrorCode.IO, `i2c-${this.busNumber} ${label} failed${tries}: ${why}`, {
          cause: error,
        });
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    await this.tail;
    try {
      await this.raw.close();
    } catch (error) {
      throw new DriverError(DriverErrorCode.IO, `closing i2c-${this.busNumber} failed`, { cause: error });
    }
  }

  private closedError(): DriverError {
    return new DriverError(DriverErrorCode.CLOSED, `i2c-${this.busNumber} is closed`);
  }
}
