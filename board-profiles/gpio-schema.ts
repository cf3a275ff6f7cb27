/**
 * The `gpio` section of a board profile (profile-schema.ts): gpiochips, header pins, power pins. Its own file so
 * that pin-lookup.ts can take its types without importing the whole profile schema, which imports pin-lookup.ts.
 * Built on each call, like the profile schema (profile-schema.ts says why).
 */
import * as z from 'zod/mini';
import '../runtime/zod-messages.ts';

const label = () => z.string().check(z.regex(/^[^\s:]+$/, 'a gpiochip label is non-empty, without spaces or ":"'));
const lineName = () => z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'a line name starts with a letter (letters, digits, _ . -)'));
const functionName = () => z.string().check(z.regex(/^[a-z0-9][a-z0-9-]*$/, 'a function name is lower-case kebab-case, e.g. "i2c1-sda"'));
export const headerPinNumber = () => z.int().check(z.gte(1), z.lte(40));

const headerPin = () => z
  .strictObject({
    /** Physical pin on the 40-pin header. */
    pin: headerPinNumber(),
    /** The name users write in configs ('GPIO17'; on Jetsons the module connector name, e.g. 'GPIO09'). */
    name: lineName(),
    /** Other names that resolve to this pin (SoC port names such as 'PAC.06', the HAT 'ID_SD'...). */
    aliases: z._default(z.array(lineName()), []),
    /** gpiochip label as the kernel reports it (/sys/class/gpio/gpiochip*\/label); absent for a dedicated pin. */
    chip: z.optional(label()),
    /** Line offset inside that chip; absent for a pin that is not a GPIO by default (I²C, UART on Jetsons). */
    line: z.optional(z.int().check(z.nonnegative())),
    functions: z._default(z.array(functionName()), []),
  })
  .check(z.refine((h) => (h.chip === undefined) === (h.line === undefined), { message: 'chip and line go together: both or neither' }));

export const gpioSchema = () => z.strictObject({
  chips: z.array(z.strictObject({ label: label(), lines: z.int().check(z.positive()) })).check(z.minLength(1)),
  header: z.array(headerPin()),
  /** Power and ground pins, so that resolving one says what it is instead of "unknown pin". */
  power: z._default(z.array(z.strictObject({ pin: headerPinNumber(), rail: z.enum(['3V3', '5V', 'GND']) })), []),
});

export type GpioSection = z.output<ReturnType<typeof gpioSchema>>;
export type HeaderPin = GpioSection['header'][number];
