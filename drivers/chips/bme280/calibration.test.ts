import t from 'tap';
import { DriverErrorCode } from '../../errors.ts';
import { encodeCalibration, parseCalibration } from './calibration.ts';

// Register bytes as the chip holds them (§4.2.2 Table 16), written out by hand: little-endian words from 0x88.
// The T/P constants are the BMP280 datasheet's §3.12 example.
const block1 = Buffer.from([
  0x70, 0x6b, // 0x88 dig_T1 = 0x6B70 = 27504
  0x43, 0x67, // 0x8A dig_T2 = 0x6743 = 26435
  0x18, 0xfc, // 0x8C dig_T3 = 0xFC18 = -1000
  0x7d, 0x8e, // 0x8E dig_P1 = 0x8E7D = 36477
  0x43, 0xd6, // 0x90 dig_P2 = 0xD643 = -10685
  0xd0, 0x0b, // 0x92 dig_P3 = 3024
  0x27, 0x0b, // 0x94 dig_P4 = 2855
  0x8c, 0x00, // 0x96 dig_P5 = 140
  0xf9, 0xff, // 0x98 dig_P6 = -7
  0x8c, 0x3c, // 0x9A dig_P7 = 15500
  0xf8, 0xc6, // 0x9C dig_P8 = 0xC6F8 = -14600
  0x70, 0x17, // 0x9E dig_P9 = 6000
  0x00, // 0xA0 reserved
  0x4b, // 0xA1 dig_H1 = 75
]);

t.test('parses block 1 (0x88-0xA1): unsigned T1/P1, signed T2/T3/P2..P9, H1', async (t) => {
  const block2 = Buffer.from([0x6a, 0x01, 0x00, 0x13, 0x2b, 0x03, 0x1e]);
  const cal = parseCalibration(block1, block2);
  t.match(cal, {
    digT1: 27504, digT2: 26435, digT3: -1000,
    digP1: 36477, digP2: -10685, digP3: 3024, digP4: 2855, digP5: 140, digP6: -7, digP7: 15500, digP8: -14600, digP9: 6000,
    digH1: 75,
  });
});

t.test('parses block 2 (0xE1-0xE7): H2 word, H3, the 12-bit H4/H5 split around 0xE5, signed H6', async (t) => {
  // 0xE4 = 0x13, 0xE5 = 0x2B, 0xE6 = 0x03: H4 = 0x13 << 4 | 0xB = 315; H5 = 0x03 << 4 | 0x2 = 50.
  const cal = parseCalibration(block1, Buffer.from([0x6a, 0x01, 0x00, 0x13, 0x2b, 0x03, 0x1e]));
  t.match(cal, { digH2: 362, digH3: 0, digH4: 315, digH5: 50, digH6: 30 });
});

t.test('negative H4/H5 take their sign from bit 7 of 0xE4 / 0xE6 (12-bit two\'s complement)', async (t) => {
  // H4 = -100 = 0xF9C -> 0xE4 = 0xF9, 0xE5[3:0] = 0xC; H5 = -300 = 0xED4 -> 0xE6 = 0xED, 0xE5[7:4] = 0x4.
  // Also H2 = -2 (0xFFFE), H3 = 0xFF (unsigned: 255) and H6 = 0xF6 (signed: -10).
  const cal = parseCalibration(block1, Buffer.from([0xfe, 0xff, 0xff, 0xf9, 0x4c, 0xed, 0xf6]));
  t.match(cal, { digH2: -2, digH3: 255, digH4: -100, digH5: -300, digH6: -10 });

  // The extremes: H4 = -1 (0xFF, nibble 0xF), H5 = -2048 (0x80, nibble 0); H5's nibble must not leak into H4.
  const extremes = parseCalibration(block1, Buffer.from([0, 0, 0, 0xff, 0x0f, 0x80, 0]));
  t.equal(extremes.digH4, -1);
  t.equal(extremes.digH5, -2048);
  const largest = parseCalibration(block1, Buffer.from([0, 0, 0, 0x7f, 0xff, 0x7f, 0]));
  t.equal(largest.digH4, 2047);
  t.equal(largest.digH5, 2047);
});

t.test('encodeCalibration is the inverse of parseCalibration, negative values included', async (t) => {
  const cal = parseCalibration(block1, Buffer.from([0xfe, 0xff, 0x07, 0xf9, 0x4c, 0xed, 0xf6]));
  const { block1: b1, block2: b2 } = encodeCalibration(cal);
  t.same(parseCalibration(b1, b2), cal);
  t.same([...b2], [0xfe, 0xff, 0x07, 0xf9, 0x4c, 0xed, 0xf6]);
});

t.test('a blank or short calibration is BAD_DEVICE', async (t) => {
  const block2 = Buffer.alloc(7);
  t.throws(() => parseCalibration(Buffer.alloc(26), block2), { code: DriverErrorCode.BAD_DEVICE, message: /blank/ });
  t.throws(() => parseCalibration(Buffer.alloc(26, 0xff), block2), { code: DriverErrorCode.BAD_DEVICE });
  t.throws(() => parseCalibration(block1.subarray(0, 20), block2), { code: DriverErrorCode.BAD_DEVICE, message: /short/ });
});
