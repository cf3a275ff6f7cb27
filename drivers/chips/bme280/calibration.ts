/**
 * BME280 trimming parameters (BST-BME280-DS002 §4.2.2 "Trimming parameter readout", Table 16): read once from
 * the chip's NVM image at 0x88-0xA1 and 0xE1-0xE7, little-endian 16-bit words, except dig_H4/dig_H5 which are
 * 12-bit two's-complement values split across 0xE4-0xE6 with a shared nibble in 0xE5.
 */
import { DriverError, DriverErrorCode } from '../../errors.ts';
import { CALIB_00_LENGTH, CALIB_26_LENGTH } from './registers.ts';

export interface Bme280Calibration {
  digT1: number; // unsigned short
  digT2: number; // signed short
  digT3: number; // signed short
  digP1: number; // unsigned short
  digP2: number; // signed short (P2..P9)
  digP3: number;
  digP4: number;
  digP5: number;
  digP6: number;
  digP7: number;
  digP8: number;
  digP9: number;
  digH1: number; // unsigned char
  digH2: number; // signed short
  digH3: number; // unsigned char
  digH4: number; // signed short, 12 bits
  digH5: number; // signed short, 12 bits
  digH6: number; // signed char
}

const s8 = (b: number): number => (b << 24) >> 24;

/**
 * Parses the two calibration blocks: `block1` = 26 bytes from 0x88, `block2` = 7 bytes from 0xE1.
 * Rejects with BAD_DEVICE when the blocks are short or the NVM image is obviously blank (dig_T1/dig_P1 of 0 or
 * 0xFFFF: the formulas divide by dig_P1-derived terms).
 */
export function parseCalibration(block1: Buffer, block2: Buffer): Bme280Calibration {
  if (block1.length < CALIB_00_LENGTH || block2.length < CALIB_26_LENGTH) {
    throw new DriverError(DriverErrorCode.BAD_DEVICE, `BME280 calibration read short (${block1.length}/${block2.length} bytes)`);
  }
  const at = (byte: number): number => block1[byte - 0x88] ?? 0;
  const e = (byte: number): number => block2[byte - 0xe1] ?? 0;
  const u16 = (reg: number): number => block1.readUInt16LE(reg - 0x88);
  const s16 = (reg: number): number => block1.readInt16LE(reg - 0x88);
  const cal: Bme280Calibration = {
    digT1: u16(0x88),
    digT2: s16(0x8a),
    digT3: s16(0x8c),
    digP1: u16(0x8e),
    digP2: s16(0x90),
    digP3: s16(0x92),
    digP4: s16(0x94),
    digP5: s16(0x96),
    digP6: s16(0x98),
    digP7: s16(0x9a),
    digP8: s16(0x9c),
    digP9: s16(0x9e),
    digH1: at(0xa1),
    digH2: block2.readInt16LE(0),
    digH3: e(0xe3),
    // dig_H4 = 0xE4[7:0] -> bits 11:4, 0xE5[3:0] -> bits 3:0; the sign is 0xE4's bit 7 (Bosch's driver computes
    // (int16_t)(int8_t)E4 * 16 | (E5 & 0x0F)).
    digH4: (s8(e(0xe4)) * 16) | (e(0xe5) & 0x0f),
    // dig_H5 = 0xE6[7:0] -> bits 11:4, 0xE5[7:4] -> bits 3:0; the sign is 0xE6's bit 7.
    digH5: (s8(e(0xe6)) * 16) | (e(0xe5) >> 4),
    digH6: s8(e(0xe7)),
  };
  for (const [name, value] of [['dig_T1', cal.digT1], ['dig_P1', cal.digP1]] as const) {
    if (value === 0 || value === 0xffff) {
      throw new DriverError(DriverErrorCode.BAD_DEVICE, `BME280 calibration looks blank (${name} = 0x${value.toString(16)})`);
    }
  }
  return cal;
}

/** The inverse of parseCalibration: the register bytes a chip with these constants holds (the sim's NVM). */
export function encodeCalibration(cal: Bme280Calibration): { block1: Buffer; block2: Buffer } {
  const block1 = Buffer.alloc(CALIB_00_LENGTH);
  block1.writeUInt16LE(cal.digT1, 0x88 - 0x88);
  block1.writeInt16LE(cal.digT2, 0x8a - 0x88);
  block1.writeInt16LE(cal.digT3, 0x8c - 0x88);
  block1.writeUInt16LE(cal.digP1, 0x8e - 0x88);
  const p = [cal.digP2, cal.digP3, cal.digP4, cal.digP5, cal.digP6, cal.digP7, cal.digP8, cal.digP9];
  p.forEach((value, i) => block1.writeInt16LE(value, 0x90 - 0x88 + 2 * i));
  block1.writeUInt8(cal.digH1, 0xa1 - 0x88);
  const block2 = Buffer.alloc(CALIB_26_LENGTH);
  block2.writeInt16LE(cal.digH2, 0);
  block2.writeUInt8(cal.digH3, 2);
  block2.writeUInt8((cal.digH4 >> 4) & 0xff, 3); // 0xE4
  block2.writeUInt8(((cal.digH5 & 0x0f) << 4) | (cal.digH4 & 0x0f), 4); // 0xE5
  block2.writeUInt8((cal.digH5 >> 4) & 0xff, 5); // 0xE6
  block2.writeInt8(cal.digH6, 6);
  return { block1, block2 };
}
