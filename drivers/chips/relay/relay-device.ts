/**
 * A relay (or any on/off actuator: a MOSFET-switched fan, a pump) on one GPIO output line. The line is opened
 * with `initial` = the safe state's level, so opening never pulses the coil through the opposite state. An
 * active-low board (most opto-isolated relay modules: IN low = coil energised) is handled by the line's
 * `activeLow` option, so this driver always speaks logical on = 1.
 */
import type { Clock } from '../../../runtime/clock.ts';
import type { ActuatorCommand, ActuatorEnvelope, DeviceStatus, IActuatorDevice } from '../../device.ts';
import { DriverError, DriverErrorCode } from '../../errors.ts';
import type { GpioValue, IGpioLine } from '../../gpio/gpio-bus.ts';
import { DeviceStatusTracker } from '../device-status.ts';
import { asDriverError, closedError } from '../driver-context.ts';

export type RelayState = 'on' | 'off';

export const RELAY_ENVELOPE: ActuatorEnvelope = Object.freeze({ commands: Object.freeze(['on', 'off'] as const) });

const level = (state: RelayState): GpioValue => (state === 'on' ? 1 : 0);

export class RelayDevice implements IActuatorDevice {
  readonly kind = 'actuator' as const;
  readonly driver = 'relay';
  readonly envelope: ActuatorEnvelope = RELAY_ENVELOPE;
  readonly id: string;
  readonly safeState: RelayState;
  readonly #line: IGpioLine;
  readonly #status: DeviceStatusTracker;
  #closing: Promise<void> | undefined;

  constructor(id: string, line: IGpioLine, safeState: RelayState, clock: Clock) {
    this.id = id;
    this.#line = line;
    this.safeState = safeState;
    // The line was opened at the safe state's level: that is the state until a command says otherwise.
    this.#status = new DeviceStatusTracker(clock);
    this.#status.ok(safeState);
  }

  /** The level a relay opens with: the safe state's (GpioLineOptions.initial is a logical value). */
  static initialLevel(safeState: RelayState): GpioValue {
    return level(safeState);
  }

  async apply(command: ActuatorCommand): Promise<void> {
    if (this.#closing !== undefined) throw closedError(this.id);
    if (command !== 'on' && command !== 'off') {
      // The HAL checks the envelope first; this is the driver's own guard against a mis-wired caller.
      throw new DriverError(DriverErrorCode.INVALID_ARGUMENT, `relay ${this.id}: command ${JSON.stringify(command)} is not "on" or "off"`);
    }
    try {
      await this.#line.write(level(command));
      this.#status.ok(command);
    } catch (err) {
      const error = asDriverError(err, `relay ${this.id}`);
      this.#status.fail(error);
      throw error;
    }
  }

  status(): DeviceStatus {
    return this.#status.snapshot();
  }

  /**
   * Releases the line. The output keeps its last level (gpio-bus.ts: driving it to the safe state before close
   * is the HAL's job, which knows whether the daemon is stopping or the device is only being reconfigured).
   */
  close(): Promise<void> {
    this.#closing ??= this.#line.close();
    return this.#closing;
  }
}
