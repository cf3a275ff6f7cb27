/**
 * Board profile schema (docs/ARCHITECTURE.md "HAL and devices"). A profile says how to recognise the board from
 * the device tree (`match`), and what its 40-pin header, I²C buses, serial ports, camera stack and thermal
 * zones are. Header pins map to (gpiochip label, line offset); the sysfs number is the chip's runtime base +
 * the offset, computed on the board by GpioLineResolver (gpio-lines.ts), never stored here.
 *
 * Every object is strict: a typo in a profile is an error naming the field, not a silently ignored key.
 * The cross-field rules (unique pins, declared chips, lines in range, bus pins on the header, device references)
 * are checked by the superRefine at the end (checkGpio, checkBuses, checkDevices).
 *
 * Each schema is built on each call and not kept (issue 12, README "Performance"): the daemon reads the profiles once,
 * at boot, and an idle daemon need not hold ~120 KB of heap for them; detect.ts builds one per load.
 */
import * as z from 'zod/mini';
import '../runtime/zod-messages.ts';
import { lookupPin, notGpioReason } from './pin-lookup.ts';
import { gpioSchema, headerPinNumber } from './gpio-schema.ts';
import type { GpioSection } from './gpio-schema.ts';

const devPath = () => z.string().check(z.regex(/^\/dev\/\S+$/, 'must be a /dev/ path'));

const i2cBus = () => z.strictObject({
  bus: z.int().check(z.nonnegative()),
  name: z.string().check(z.regex(/^i2c-\d+$/, 'an I²C bus name is i2c-<number>')),
  sdaPin: headerPinNumber(),
  sclPin: headerPinNumber(),
  device: devPath(),
  notes: z.optional(z.string()),
});

const serialPort = () => z
  .strictObject({
    name: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_-]*$/)),
    device: devPath(),
    /** Header pins; absent for a port that is not on the header (e.g. the Pi 5 debug connector). */
    txPin: z.optional(headerPinNumber()),
    rxPin: z.optional(headerPinNumber()),
    notes: z.optional(z.string()),
  })
  .check(z.refine((s) => (s.txPin === undefined) === (s.rxPin === undefined), { message: 'txPin and rxPin go together: both or neither' }));

/** Placeholders a stream command may use; the camera binding substitutes them per device. */
export const STREAM_PLACEHOLDERS = ['device', 'width', 'height', 'fps'] as const;

const cameraSchema = () => z.strictObject({
  stack: z.enum(['libcamera', 'v4l2', 'argus', 'sim']),
  devices: z.array(
    z.strictObject({
      name: z.string().check(z.regex(/^[a-z][a-z0-9-]*$/)),
      interface: z.enum(['csi', 'usb', 'sim']),
      /** What `{device}` becomes: a libcamera/Argus camera index ('0'), a /dev/video path, or 'sim'. */
      device: z.string().check(z.minLength(1)),
      notes: z.optional(z.string()),
    }),
  ),
  /** argv of a command writing an MJPEG stream (concatenated JPEG frames) to stdout; see STREAM_PLACEHOLDERS. */
  streamCommand: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
});

const thermalZone = () => z.strictObject({
  name: z.string().check(z.regex(/^[a-z][a-z0-9-]*$/)),
  /** Millidegrees Celsius file; `sim:<zone>` on the simulated board. */
  path: z.string().check(z.regex(/^(\/\S+|sim:\S+)$/, 'an absolute path or sim:<zone>')),
  /** The zone's /sys/class/thermal/thermal_zone*\/type: zone numbering can change between kernels, the type does not. */
  type: z.optional(z.string().check(z.minLength(1))),
});

/** A default device the board brings (the sim board's devices): id + driver here, the rest validated by the HAL. */
const deviceEntry = () => z.looseObject({
  id: z.string().check(z.regex(/^[a-z][a-z0-9_-]*$/, 'a device id is lower-case letters, digits, _ and -')),
  driver: z.string().check(z.minLength(1)),
});

const profileObject = () => z.strictObject({
  name: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]*$/, 'a profile name is lower-case letters, digits and -, like its file name')),
  title: z.string().check(z.minLength(1)),
  /** Prefixes of /proc/device-tree/model, and exact entries of /proc/device-tree/compatible. */
  match: z.strictObject({ model: z.array(z.string().check(z.minLength(1))), compatible: z.array(z.string().check(z.minLength(1))) }),
  soc: z.string().check(z.minLength(1)),
  gpio: gpioSchema(),
  i2c: z.array(i2cBus()),
  serial: z.array(serialPort()),
  camera: cameraSchema(),
  thermal: z.array(thermalZone()),
  devices: z._default(z.array(deviceEntry()), []),
  /** Where the data comes from (documents, kernel sources, measured boards). */
  sources: z.optional(z.array(z.string().check(z.minLength(1)))),
  /** Caveats: uncertain mappings, required config.txt / jetson-io settings. */
  notes: z.optional(z.array(z.string().check(z.minLength(1)))),
});

type ProfileData = z.output<ReturnType<typeof profileObject>>;
export type { GpioSection, HeaderPin } from './gpio-schema.ts';
export type I2cBusEntry = ProfileData['i2c'][number];
export type SerialPortEntry = ProfileData['serial'][number];
export type CameraSection = ProfileData['camera'];
export type ThermalZone = ProfileData['thermal'][number];
export type BoardDeviceEntry = ProfileData['devices'][number];

type Report = (path: (string | number)[], message: string) => void;

/** Reports every value of `key(item)` seen before, at `item`'s path. */
function unique<T>(items: readonly T[], key: (item: T) => string | undefined, at: (i: number) => (string | number)[], what: string, report: Report): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else report(at(i), `duplicate ${what} "${k}" (also at index ${first})`);
  });
}

function checkGpio(gpio: GpioSection, report: Report): void {
  unique(gpio.chips, (c) => c.label, (i) => ['gpio', 'chips', i, 'label'], 'chip label', report);
  unique(gpio.header, (h) => String(h.pin), (i) => ['gpio', 'header', i, 'pin'], 'header pin', report);
  unique(gpio.header, (h) => (h.chip === undefined ? undefined : `${h.chip}:${h.line}`), (i) => ['gpio', 'header', i, 'line'], 'chip line', report);
  const named = new Map<string, number>(); // names are matched case-insensitively, so unique that way
  gpio.header.forEach((h, i) => {
    for (const n of [h.name, ...h.aliases].map((x) => x.toLowerCase())) {
      const first = named.get(n);
      if (first === undefined) named.set(n, i);
      else report(['gpio', 'header', i, 'name'], `duplicate pin name or alias "${n}" (also at index ${first})`);
    }
  });
  unique(gpio.power, (p) => String(p.pin), (i) => ['gpio', 'power', i, 'pin'], 'power pin', report);
  gpio.header.forEach((h, i) => {
    if (gpio.power.some((p) => p.pin === h.pin)) report(['gpio', 'header', i, 'pin'], `pin ${h.pin} is also listed as a power pin`);
    if (h.chip === undefined || h.line === undefined) return;
    const chip = gpio.chips.find((c) => c.label === h.chip);
    if (!chip) report(['gpio', 'header', i, 'chip'], `chip "${h.chip}" is not declared in gpio.chips`);
    else if (h.line >= chip.lines) report(['gpio', 'header', i, 'line'], `line ${h.line} is out of range for "${h.chip}" (${chip.lines} lines)`);
  });
}

function checkBuses(p: ProfileData, report: Report): void {
  const onHeader = (pin: number | undefined, path: (string | number)[]): void => {
    if (pin !== undefined && !p.gpio.header.some((h) => h.pin === pin)) report(path, `pin ${pin} is not listed in gpio.header`);
  };
  unique(p.i2c, (b) => String(b.bus), (i) => ['i2c', i, 'bus'], 'I²C bus', report);
  unique(p.i2c, (b) => b.name, (i) => ['i2c', i, 'name'], 'I²C bus name', report);
  p.i2c.forEach((b, i) => {
    onHeader(b.sdaPin, ['i2c', i, 'sdaPin']);
    onHeader(b.sclPin, ['i2c', i, 'sclPin']);
  });
  unique(p.serial, (s) => s.name, (i) => ['serial', i, 'name'], 'serial port name', report);
  p.serial.forEach((s, i) => {
    onHeader(s.txPin, ['serial', i, 'txPin']);
    onHeader(s.rxPin, ['serial', i, 'rxPin']);
  });
  unique(p.thermal, (z) => z.name, (i) => ['thermal', i, 'name'], 'thermal zone name', report);
  unique(p.camera.devices, (d) => d.name, (i) => ['camera', 'devices', i, 'name'], 'camera name', report);
  p.camera.streamCommand?.forEach((arg, i) => {
    for (const m of arg.matchAll(/\{([^}]*)\}/g)) {
      if (!(STREAM_PLACEHOLDERS as readonly string[]).includes(m[1] ?? '')) {
        report(['camera', 'streamCommand', i], `unknown placeholder "{${m[1]}}" (known: ${STREAM_PLACEHOLDERS.map((s) => `{${s}}`).join(', ')})`);
      }
    }
  });
}

/** Default devices: unique ids, and `pin` / `bus` / `port` fields that name something this board has. */
function checkDevices(p: ProfileData, report: Report): void {
  unique(p.devices, (d) => d.id, (i) => ['devices', i, 'id'], 'device id', report);
  p.devices.forEach((d, i) => {
    if (d.pin !== undefined) {
      const why = typeof d.pin === 'number' || typeof d.pin === 'string' ? notGpioReason(lookupPin(p.gpio, d.pin)) : 'a pin is a header pin number or a line name';
      if (why !== undefined) report(['devices', i, 'pin'], why);
    }
    if (d.bus !== undefined && !p.i2c.some((b) => b.bus === d.bus || b.name === d.bus)) {
      report(['devices', i, 'bus'], `no I²C bus ${JSON.stringify(d.bus)} on this board (buses: ${p.i2c.map((b) => b.bus).join(', ') || 'none'})`);
    }
    if (d.port !== undefined && !p.serial.some((s) => s.name === d.port || s.device === d.port)) {
      report(['devices', i, 'port'], `no serial port ${JSON.stringify(d.port)} on this board (ports: ${p.serial.map((s) => s.name).join(', ') || 'none'})`);
    }
  });
}

export const boardProfileSchema = () => profileObject().check(
  z.superRefine((p, ctx) => {
    const report: Report = (path, message) => ctx.addIssue({ code: 'custom', path, message });
    checkGpio(p.gpio, report);
    checkBuses(p, report);
    checkDevices(p, report);
  }),
);

export type BoardProfileSchema = ReturnType<typeof boardProfileSchema>;
export type BoardProfile = z.output<BoardProfileSchema>;
/** What a profile file may contain (defaults not yet applied). */
export type BoardProfileInput = z.input<BoardProfileSchema>;
