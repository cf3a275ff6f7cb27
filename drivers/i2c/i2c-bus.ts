/**
 * I²C bus contract (interface only). Implemented by the real binding (i2c-bus on /dev/i2c-N) and the sim binding
 * (simulated chips answering at their addresses); both must pass drivers/i2c/i2c-contract.ts.
 *
 * Serialisation: every operation and every `transaction()` on one bus runs alone, in call order — a chip
 * driver's multi-step sequence (write control register, wait, burst-read data) is never interleaved with another
 * device's traffic. Retries: an operation failing with EIO / EREMOTEIO / ETIMEDOUT / EAGAIN is retried a bounded
 * number of times with a short delay, then rejects with ERR_DRIVER_IO carrying the last errno as `cause`.
 */
export interface I2cIo {
  /** SMBus read byte data: one register. */
  readByte(address: number, register: number): Promise<number>;
  writeByte(address: number, register: number, value: number): Promise<void>;
  /** SMBus/I²C block read of `length` (1-32) bytes starting at `register`. */
  readBlock(address: number, register: number, length: number): Promise<Buffer>;
  writeBlock(address: number, register: number, data: Buffer): Promise<void>;
  /** Plain I²C: write bytes (command words such as the SHT3x's 0x2400), no register. */
  write(address: number, data: Buffer): Promise<void>;
  /** Plain I²C: read `length` bytes. */
  read(address: number, length: number): Promise<Buffer>;
}

export interface II2cBus extends I2cIo {
  readonly busNumber: number;
  /** Runs `fn` with exclusive use of the bus; operations inside it are not queued behind it (no deadlock). */
  transaction<T>(fn: (io: I2cIo) => Promise<T>): Promise<T>;
  /** Rejects queued operations with ERR_DRIVER_CLOSED after the running one settles. Idempotent. */
  close(): Promise<void>;
}
