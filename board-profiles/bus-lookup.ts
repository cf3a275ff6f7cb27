/**
 * I²C bus and serial port lookup in a profile, for the HAL's BusProvider (`i2c(bus)`, `resolveSerialPort(port)`):
 * configs name a bus by number (1) or name ('i2c-1'), a port by profile name ('serial0', 'uart1') or device path.
 * Errors name the board and list what it has, so a config written for another board fails clearly.
 */
import { BoardError, BoardErrorCode } from './errors.ts';
import type { BoardProfile, I2cBusEntry, SerialPortEntry } from './profile-schema.ts';

export function findI2cBus(profile: BoardProfile, bus: number | string): I2cBusEntry {
  const wanted = typeof bus === 'string' && /^\d+$/.test(bus) ? Number(bus) : bus;
  const found = profile.i2c.find((b) => b.bus === wanted || b.name === wanted || b.device === wanted);
  if (found) return found;
  const have = profile.i2c.map((b) => `${b.bus} (pins ${b.sdaPin}/${b.sclPin})`).join(', ') || 'none';
  throw new BoardError(BoardErrorCode.BUS_UNKNOWN, `I²C bus ${JSON.stringify(bus)} on board "${profile.name}": no such bus (buses: ${have})`);
}

export function findSerialPort(profile: BoardProfile, port: string): SerialPortEntry {
  const found = profile.serial.find((s) => s.name === port || s.device === port);
  if (found) return found;
  const have = profile.serial.map((s) => `${s.name} (${s.device})`).join(', ') || 'none';
  throw new BoardError(BoardErrorCode.BUS_UNKNOWN, `serial port ${JSON.stringify(port)} on board "${profile.name}": no such port (ports: ${have})`);
}
