/**
 * The deployed versions on disk (issue 16, README "Deploying updates"):
 *   $OPENSTARRY_HOME/deployments/<templateId>/<version>/agent.json (+ its modules)
 * A version is staged into `<templateId>/.staging-<version>/`, every file written and fsynced, every folder
 * fsynced, then renamed into place and the template folder fsynced (runtime/durable-file.ts explains why each
 * step): a power cut leaves a staging folder (ignored and removed at the next stage) or a whole version, never a
 * half-written `<version>/`. Which version runs is the journal's word (deploy-journal.ts), never the folders'.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { syncDir, writeFileSynced } from '../durable-file.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';

/** How many versions of a template stay on disk (plus current and previous, should they be older). */
export const KEEP_VERSIONS = 3;

/** A version folder name or a template id must not climb out of the store. */
const SAFE_NAME = /^[0-9A-Za-z][0-9A-Za-z._+-]*$/;

export class VersionStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dir(templateId: string, version: string): string {
    if (!SAFE_NAME.test(templateId) || !SAFE_NAME.test(version)) {
      throw new OpenStarryError(ErrorCode.DEPLOY_REFUSED, `template id "${templateId}" or version "${version}" is not a safe folder name`);
    }
    return path.join(this.root, templateId, version);
  }

  manifestPath(templateId: string, version: string): string {
    return path.join(this.dir(templateId, version), 'agent.json');
  }

  /** Writes a version's files durably and moves them into place; an existing folder of that version is replaced. */
  async stage(templateId: string, version: string, files: ReadonlyMap<string, Uint8Array>): Promise<string> {
    const target = this.dir(templateId, version);
    const templateDir = path.dirname(target);
    const staging = path.join(templateDir, `.staging-${version}`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const dirs = new Set<string>([staging]);
    for (const [rel, bytes] of files) {
      const file = path.resolve(staging, rel);
      if (!file.startsWith(staging + path.sep)) throw new OpenStarryError(ErrorCode.DEPLOY_REFUSED, `bundle file "${rel}" lies outside its template folder`);
      await mkdir(path.dirname(file), { recursive: true });
      // Every folder from the file's up to staging: a new subfolder's entry lives in its parent (fsync(2)).
      for (let d = path.dirname(file); d !== staging; d = path.dirname(d)) dirs.add(d);
      // The template's files are text (a manifest and JavaScript modules, runtime/design/blueprint.ts).
      await writeFileSynced(file, Buffer.from(bytes).toString('utf8'));
    }
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) await syncDir(d);
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
    await syncDir(templateDir);
    await syncDir(this.root);
    return path.join(target, 'agent.json');
  }

  /** Versions on disk for a template (staging folders excluded), in no particular order. */
  async list(templateId: string): Promise<string[]> {
    try {
      return (await readdir(path.join(this.root, templateId), { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
    } catch {
      return [];
    }
  }

  /** Removes every version folder not in `keep` (and leftover staging folders). */
  async prune(templateId: string, keep: ReadonlySet<string>): Promise<void> {
    let entries;
    try {
      entries = await readdir(path.join(this.root, templateId), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory() && !keep.has(e.name)) await rm(path.join(this.root, templateId, e.name), { recursive: true, force: true });
    }
  }
}
