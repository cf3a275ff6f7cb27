/**
 * Board detection (DESIGN §4): read /proc/device-tree/model and /proc/device-tree/compatible (NUL-separated
 * strings, with a trailing NUL) under an injectable root, and match them against the profiles. No match, or no
 * device tree at all (an x86 laptop, CI), means the simulated board `sim`.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BoardProfile } from './profile-schema.ts';
import { boardProfileSchema } from './profile-schema.ts';

export interface BoardDetection {
  profile: BoardProfile;
  model?: string;
  detectedBy: 'config' | 'device-tree' | 'fallback';
}

export const PROFILES_DIR = fileURLToPath(new URL('.', import.meta.url));

export async function loadProfiles(dir: string = PROFILES_DIR): Promise<Map<string, BoardProfile>> {
  const profiles = new Map<string, BoardProfile>();
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    const file = path.join(dir, name);
    const text = await readFile(file, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      // Every error names its file (DESIGN §5.4); a bare SyntaxError would not say which profile is broken.
      throw new Error(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    const parsed = boardProfileSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    profiles.set(parsed.data.name, parsed.data);
  }
  return profiles;
}

async function readDtString(root: string, name: string): Promise<string[]> {
  try {
    const raw = await readFile(path.join(root, 'proc', 'device-tree', name), 'latin1');
    return raw.split('\0').filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

/**
 * @param wanted the config's `board`: 'auto' to detect, or a profile name to force
 * @param root file-system root to read the device tree under ('/' on a board, a fixture folder in tests)
 */
export async function detectBoard(wanted: string, profiles: Map<string, BoardProfile>, root = '/'): Promise<BoardDetection> {
  const sim = profiles.get('sim');
  if (!sim) throw new Error('board profile "sim" is missing');
  if (wanted !== 'auto') {
    const forced = profiles.get(wanted);
    if (!forced) throw new Error(`board "${wanted}" has no profile (known: ${[...profiles.keys()].join(', ')})`);
    return { profile: forced, detectedBy: 'config' };
  }
  const [model] = await readDtString(root, 'model');
  const compatible = await readDtString(root, 'compatible');
  for (const profile of profiles.values()) {
    const byModel = model !== undefined && profile.match.model.some((m) => model.startsWith(m));
    const byCompatible = profile.match.compatible.some((c) => compatible.includes(c));
    if (byModel || byCompatible) return model === undefined ? { profile, detectedBy: 'device-tree' } : { profile, model, detectedBy: 'device-tree' };
  }
  return model === undefined ? { profile: sim, detectedBy: 'fallback' } : { profile: sim, model, detectedBy: 'fallback' };
}
