/**
 * Board profile schema. A profile is data: how to recognise the board from the device tree (`match`), and —
 * added with the HAL — its header pins, I²C buses, serial ports, camera stack and thermal zones.
 */
import { z } from 'zod';

export const boardProfileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    title: z.string().min(1),
    /** Prefixes of /proc/device-tree/model, and exact entries of /proc/device-tree/compatible. */
    match: z.object({ model: z.array(z.string().min(1)), compatible: z.array(z.string().min(1)) }).strict(),
  })
  .passthrough();

export type BoardProfile = z.output<typeof boardProfileSchema>;
