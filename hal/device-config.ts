/**
 * The HAL's part of a device entry (config `devices[]` and a board profile's `devices`): id, driver, rateLimit.
 * Everything else in the entry belongs to the driver and is validated by its own configSchema (pin, bus, address,
 * port, safeState...), so an unknown key is reported by the driver that does not know it.
 */
import * as z from 'zod';

export const DEVICE_ID = /^[a-z][a-z0-9_-]{0,31}$/;

export const deviceEntrySchema = z
  .object({
    id: z.string().regex(DEVICE_ID, 'must be lowercase letters, digits, "_" or "-", starting with a letter, at most 32 characters'),
    driver: z.string().min(1),
    rateLimit: z
      .object({ perSecond: z.number().positive().max(1000), burst: z.number().int().min(1).max(1000).optional() })
      .strict()
      .optional(),
  })
  .passthrough();

export type DeviceEntry = z.output<typeof deviceEntrySchema>;

/** The entry minus the HAL's own keys: what the driver's configSchema validates. */
export function driverFields(entry: DeviceEntry): Record<string, unknown> {
  const { id: _id, driver: _driver, rateLimit: _rateLimit, ...rest } = entry;
  return rest;
}
