/**
 * Board detection (docs/ARCHITECTURE.md "HAL and devices"): read /proc/device-tree/model and /proc/device-tree/compatible (NUL-separated
 * strings, with a trailing NUL) under an injectable root, and match them against the profiles. No match, or no
 * device tree at all (an x86 laptop, CI), means the simulated board `sim`.
 *
 * Precedence, most specific first (boards share SoC compatibles: "brcm,bcm2837" is both the Pi 3 B+ and the
 * Zero 2 W, so "first profile that matches anything" would depend on file order):
 *   1. a model prefix match; the longest matching prefix wins;
 *   2. a compatible match, ranked by the entry's position in the device's compatible list. The device tree
 *      lists compatibles most specific first (board, then module, then SoC — Devicetree spec §2.3.1), so a
 *      board entry at index 0 beats an SoC entry at index 1 without profiles having to label their entries.
 *   3. a tie (two profiles claiming the same SoC entry for an unlisted board) goes to the profile name that
 *      sorts first, and the others are reported in `alternatives` so the daemon can log the ambiguity.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProfileProblem } from './errors.ts';
import { BoardError, BoardErrorCode } from './errors.ts';
import type { BoardProfile, BoardProfileSchema } from './profile-schema.ts';
import { boardProfileSchema } from './profile-schema.ts';

export interface BoardDetection {
  profile: BoardProfile;
  /** /proc/device-tree/model without its NUL, when the file exists. */
  model?: string;
  /** /proc/device-tree/compatible entries, when the file exists and detection was not forced. */
  compatible?: string[];
  detectedBy: 'config' | 'device-tree' | 'fallback';
  /** For 'device-tree': the model prefix or compatible entry that decided. */
  matchedBy?: { kind: 'model' | 'compatible'; entry: string };
  /** For 'device-tree': other profiles that matched less specifically (or tied), best first. */
  alternatives?: string[];
}

export const PROFILES_DIR = fileURLToPath(new URL('.', import.meta.url));

/**
 * Validates one parsed profile document: the profile, or every problem with its field path. `schema`: one built for
 * several documents (the schema is not kept between loads, profile-schema.ts says why).
 */
export function parseProfile(json: unknown, schema: BoardProfileSchema = boardProfileSchema()): { profile: BoardProfile } | { problems: ProfileProblem[] } {
  const parsed = schema.safeParse(json);
  if (parsed.success) return { profile: parsed.data };
  return {
    problems: parsed.error.issues.flatMap((issue) =>
      // zod reports unknown keys at their parent; the field path of a typo is the key itself.
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: `unknown key "${key}"` }))
        : [{ path: issue.path.map(String).join('.'), message: issue.message }],
    ),
  };
}

async function readProfileJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    // Every error names its file (docs/ARCHITECTURE.md "Validation at the boundary"); a bare SyntaxError would not say which profile is broken.
    const problems = [{ path: '', message: `not valid JSON: ${(err as Error).message}` }];
    throw new BoardError(BoardErrorCode.PROFILE_INVALID, `${file}: ${problems[0]!.message}`, { cause: err, details: { file, problems } });
  }
}

/** Reads, parses and validates one profile file; the profile's name must be the file's base name. */
export async function loadProfileFile(file: string, schema?: BoardProfileSchema): Promise<BoardProfile> {
  return validateProfile(file, await readProfileJson(file), schema);
}

function validateProfile(file: string, json: unknown, schema?: BoardProfileSchema): BoardProfile {
  const result = parseProfile(json, schema);
  const problems = 'problems' in result ? result.problems : [];
  const base = path.basename(file, '.json');
  if ('profile' in result && result.profile.name !== base) {
    problems.push({ path: 'name', message: `"${result.profile.name}" must match the file name "${base}.json"` });
  }
  if (problems.length > 0 || !('profile' in result)) {
    const message = `${file}: ${problems.map((p) => `${p.path === '' ? '(document)' : p.path}: ${p.message}`).join('; ')}`;
    throw new BoardError(BoardErrorCode.PROFILE_INVALID, message, { details: { file, problems } });
  }
  return result.profile;
}

export async function loadProfiles(dir: string = PROFILES_DIR): Promise<Map<string, BoardProfile>> {
  const profiles = new Map<string, BoardProfile>();
  const schema = boardProfileSchema();
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    const profile = await loadProfileFile(path.join(dir, name), schema);
    profiles.set(profile.name, profile);
  }
  return profiles;
}

async function readDtStrings(root: string, name: string): Promise<string[] | undefined> {
  try {
    const raw = await readFile(path.join(root, 'proc', 'device-tree', name), 'latin1');
    return raw.split('\0').filter((s) => s.length > 0);
  } catch {
    return undefined;
  }
}

/** What detection reads of a profile: its name and its `match` section. */
export interface ProfileMatch {
  name: string;
  match: { model: readonly string[]; compatible: readonly string[] };
}

interface Candidate<P extends ProfileMatch> {
  profile: P;
  /** [tier, rank]: lower sorts first. Tier 0 = model (rank = -prefix length), 1 = compatible (rank = index). */
  score: [number, number];
  matchedBy: { kind: 'model' | 'compatible'; entry: string };
}

function bestMatch<P extends ProfileMatch>(profile: P, model: string | undefined, compatible: readonly string[]): Candidate<P> | undefined {
  const prefix = model === undefined ? undefined : profile.match.model.filter((m) => model.startsWith(m)).sort((a, b) => b.length - a.length)[0];
  if (prefix !== undefined) return { profile, score: [0, -prefix.length], matchedBy: { kind: 'model', entry: prefix } };
  const index = compatible.findIndex((c) => profile.match.compatible.includes(c));
  if (index >= 0) return { profile, score: [1, index], matchedBy: { kind: 'compatible', entry: compatible[index]! } };
  return undefined;
}

function byScore<P extends ProfileMatch>(a: Candidate<P>, b: Candidate<P>): number {
  return a.score[0] - b.score[0] || a.score[1] - b.score[1] || (a.profile.name < b.profile.name ? -1 : a.profile.name > b.profile.name ? 1 : 0);
}

/**
 * @param wanted the config's `board`: 'auto' to detect, or a profile name to force
 * @param root file-system root to read the device tree under ('/' on a board, a fixture folder in tests)
 */
export async function detectBoard(wanted: string, profiles: Map<string, BoardProfile>, root?: string): Promise<BoardDetection>;
export async function detectBoard<P extends ProfileMatch>(wanted: string, profiles: Map<string, P>, root?: string): Promise<Omit<BoardDetection, 'profile'> & { profile: P }>;
export async function detectBoard<P extends ProfileMatch>(wanted: string, profiles: Map<string, P>, root = '/'): Promise<Omit<BoardDetection, 'profile'> & { profile: P }> {
  const sim = profiles.get('sim');
  if (!sim) throw new BoardError(BoardErrorCode.BOARD_UNKNOWN, 'board profile "sim" is missing');
  if (wanted !== 'auto') {
    const forced = profiles.get(wanted);
    if (!forced) throw new BoardError(BoardErrorCode.BOARD_UNKNOWN, `board "${wanted}" has no profile (known: ${[...profiles.keys()].join(', ')})`);
    return { profile: forced, detectedBy: 'config' };
  }
  const model = (await readDtStrings(root, 'model'))?.[0];
  const compatible = await readDtStrings(root, 'compatible');
  const seen = { ...(model === undefined ? {} : { model }), ...(compatible === undefined ? {} : { compatible }) };
  const candidates = [...profiles.values()]
    .map((p) => bestMatch(p, model, compatible ?? []))
    .filter((c): c is Candidate<P> => c !== undefined)
    .sort(byScore);
  const [best, ...rest] = candidates;
  if (!best) return { profile: sim, ...seen, detectedBy: 'fallback' };
  return { profile: best.profile, ...seen, detectedBy: 'device-tree', matchedBy: best.matchedBy, alternatives: rest.map((c) => c.profile.name) };
}

/** A profile file read as far as detection needs; `json` is the whole document, validated once chosen. */
interface ProfileHead extends ProfileMatch {
  file: string;
  json: unknown;
}

/**
 * The daemon's board phase: detects the board (or takes the forced one) and validates only the profile it will run.
 * Every profile is read and its name and `match` section checked (detection compares them all); the full schema, the
 * costly part (issue 12: the profiles' parsing was ~6 % of the boot samples under qemu-aarch64, README "Performance"),
 * runs on the chosen profile alone. A profile that is not this board's is not the daemon's input: the tests validate
 * every shipped one (profiles.test.ts) and `openstarry validate` checks a user's.
 */
export async function detectAndLoadBoard(wanted: string, dir: string = PROFILES_DIR, root = '/'): Promise<BoardDetection> {
  const heads = new Map<string, ProfileHead>();
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    const file = path.join(dir, name);
    const json = await readProfileJson(file);
    const head = profileHead(json);
    // The name is the file's base name (validateProfile enforces it on the chosen one): detection and `board:` use it.
    heads.set(head?.name ?? path.basename(name, '.json'), { ...(head ?? { name: path.basename(name, '.json'), match: { model: [], compatible: [] } }), file, json });
    // A head that cannot be read is reported in full by the schema, as loadProfiles would.
    if (head === undefined) validateProfile(file, json);
  }
  const detection = await detectBoard(wanted, heads, root);
  return { ...detection, profile: validateProfile(detection.profile.file, detection.profile.json) };
}

function profileHead(json: unknown): ProfileMatch | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { name, match } = json as { name?: unknown; match?: { model?: unknown; compatible?: unknown } | null };
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (typeof name !== 'string' || typeof match !== 'object' || match === null || !strings(match.model) || !strings(match.compatible)) return undefined;
  return { name, match: { model: match.model, compatible: match.compatible } };
}
