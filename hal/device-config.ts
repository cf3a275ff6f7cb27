/**
 * The HAL's part of a device entry (config `devices[]` and a board profile's `devices`): id, driver, rateLimit.
 * Everything else in the entry belongs to the driver and is validated by its own configSchema (pin, bus, address,
 * port, safeState...), so an unknown key is reported by the driver that does not know it.
 */
import * as z from 'zod/mini';
import '../runtime/zod-messages.ts';

export const DEVICE_ID = /^[a-z][a-z0-9_-]{0,31}$/;

export const deviceEntrySchema = z.looseObject({
  id: z.string().check(z.regex(DEVICE_ID, 'must be lowercase letters, digits, "_" or "-", starting with a letter, at most 32 characters')),
  driver: z.string().check(z.minLength(1)),
  rateLimit: z.optional(z.strictObject({ perSecond: z.number().check(z.positive(), z.lte(1000)), burst: z.optional(z.int().check(z.gte(1), z.lte(1000))) })),
});

export type DeviceEntry = z.output<typeof deviceEntrySchema>;

/** The entry minus the HAL's own keys: what the driver's configSchema validates. */
export function driverFields(entry: DeviceEntry): Record<string, unknown> {
  const { id: _id, driver: _driver, rateLimit: _rateLimit, ...rest } = entry;
  return rest;
}
