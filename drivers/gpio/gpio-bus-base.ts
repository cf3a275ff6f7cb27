/**
 * The part of a GPIO bus that is the same for every binding: validation before anything is exported, "one open
 * per line" (a second open of a line already open through this bus is ERR_DRIVER_OPEN_FAILED — two owners of
 * one pin is always a bug), and close() closing every line, idempotently.
 */
import { DriverError, DriverErrorCode } from '../errors.ts';
import type { GpioLineOptions, IGpioBus, IGpioLine } from './gpio-bus.ts';
import type { GpioLineBase } from './gpio-line-base.ts';
import { checkLineNumber, normaliseGpioOptions, type NormalisedGpioOptions } from './gpio-validation.ts';

export abstract class GpioBusBase implements IGpioBus {
  /** Line numbers reserved by an open in progress or an open line. */
  private readonly reserved = new Set<number>();
  private readonly lines = new Set<GpioLineBase>();
  private readonly opening = new Set<Promise<unknown>>();
  private closed = false;
  private closing: Promise<void> | undefined;

  /**
   * Exports `line` with already validated options. `release` must be passed to the line (GpioLineBase's
   * onClosed): it frees the line number for a later open. Errors must be DriverErrors (OPEN_FAILED/UNAVAILABLE).
   */
  protected abstract openLine(line: number, options: NormalisedGpioOptions, release: () => void): Promise<GpioLineBase>;

  open(line: number, options: GpioLineOptions): Promise<IGpioLine> {
    if (this.closed) return Promise.reject(new DriverError(DriverErrorCode.CLOSED, 'GPIO bus is closed'));
    let normalised: NormalisedGpioOptions;
    try {
      checkLineNumber(line);
      normalised = normaliseGpioOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.reserved.has(line)) {
      return Promise.reject(
        new DriverError(DriverErrorCode.OPEN_FAILED, `GPIO ${line} is already open through this bus`),
      );
    }
    this.reserved.add(line);
    const opened = this.openReserved(line, normalised);
    this.opening.add(opened);
    const forget = (): void => {
      this.opening.delete(opened);
    };
    opened.then(forget, forget);
    return opened;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async openReserved(line: number, options: NormalisedGpioOptions): Promise<IGpioLine> {
    let opened: GpioLineBase;
    try {
      opened = await this.openLine(line, options, () => {
        this.lines.delete(opened);
        this.reserved.delete(line);
      });
    } catch (error) {
      this.reserved.delete(line);
      throw error;
    }
    this.lines.add(opened);
    if (this.closed) {
      // The bus closed while the line was being exported: do not hand out a line nobody will close.
      await opened.close();
      throw new DriverError(DriverErrorCode.CLOSED, `GPIO bus closed while opening GPIO ${line}`);
    }
    return opened;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.opening]);
    const results = await Promise.allSettled([...this.lines].map((line) => line.close()));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }
}
