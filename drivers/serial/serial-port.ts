/**
 * Serial port contract (interface only). Implemented by the real binding (serialport) and the sim binding (an
 * in-memory pair whose far end a simulated device plays); both must pass drivers/serial/serial-contract.ts.
 * A port is a Node Duplex stream of bytes: the HAL hands agents a duplex stream too (`openSerial`).
 */
import type { Duplex } from 'node:stream';

export interface SerialOptions {
  baudRate: number;
  dataBits?: 5 | 6 | 7 | 8;
  stopBits?: 1 | 2;
  parity?: 'none' | 'even' | 'odd';
}

export interface ISerialPort {
  readonly path: string;
  /** Bytes in, bytes out. Ends when the port closes; errors surface as 'error' with a DriverError. */
  readonly stream: Duplex;
  /** Flushes pending writes, then closes. Idempotent. */
  close(): Promise<void>;
}

export interface ISerialBinding {
  /** Rejects with ERR_DRIVER_OPEN_FAILED when the path does not exist or is busy. */
  open(path: string, options: SerialOptions): Promise<ISerialPort>;
}
