/**
 * The wire format of the remote design layer (spec 002 phase 2 "query interface such as GET /templates/master-agent",
 * README "Configuration", `templates.url`). Both ends are in this repository: the service (design-layer-server.ts, shipped as
 * `openstarry design-layer serve`) and the daemon's client (remote-source.ts).
 *
 *   GET /templates       -> TemplateListing: id, version and hash of every valid template, plus the invalid ones
 *   GET /templates/:id   -> TemplatePackage: the agent.json text and every module's source, with the hash
 *
 * The package carries the manifest as text, not parsed JSON, so the daemon recomputes the hash over the very
 * bytes the service hashed: a package whose hash does not match is rejected (a truncated or altered transfer).
 * Everything that comes over the network is untrusted: this schema bounds the shape, the sizes and the module
 * paths, and the daemon then validates the template exactly as it validates a local one (blueprint.ts).
 */
import path from 'node:path';
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { BLUEPRINT_LIMITS } from './blueprint.ts';
import { AGENT_ID } from './manifest-schema.ts';

const HASH = /^[0-9a-f]{64}$/;

/** A module path inside a template: relative, posix, no `..`, no hidden parts, .js/.mjs only. */
export function modulePathProblem(rel: string): string | undefined {
  if (rel.length === 0 || rel.length > 256) return 'module path must be 1-256 characters';
  if (rel.includes('\\') || rel.includes('\0')) return 'module path must use "/" and no NUL';
  if (rel.startsWith('/')) return 'module path must be relative';
  if (path.posix.normalize(rel) !== rel) return 'module path must be normalised (no "./", "//" or "..")';
  const parts = rel.split('/');
  if (parts.some((p) => p === '..' || p.startsWith('.'))) return 'module path must not climb out or name hidden files';
  if (parts.length > BLUEPRINT_LIMITS.maxDepth + 1) return `module path deeper than ${BLUEPRINT_LIMITS.maxDepth} folders`;
  if (!/\.m?js$/.test(rel)) return 'only .js and .mjs modules are part of a template';
  return undefined;
}

export const templateListingSchema = z.object({
  templates: z
    .array(z.object({ id: z.string().check(z.regex(AGENT_ID)), version: z.string().check(z.maxLength(64)), hash: z.string().check(z.regex(HASH)), description: z.optional(z.string().check(z.maxLength(1024))) }))
    .check(z.maxLength(1024)),
  invalid: z._default(z.array(z.object({ file: z.string().check(z.maxLength(4096)), error: z.string().check(z.maxLength(64 * 1024)) })).check(z.maxLength(1024)), []),
});

export type TemplateListing = z.output<typeof templateListingSchema>;

export const templatePackageSchema = z
  .object({
    id: z.string().check(z.regex(AGENT_ID)),
    version: z.string().check(z.maxLength(64)),
    hash: z.string().check(z.regex(HASH)),
    /** agent.json exactly as the service read it. */
    manifest: z.string().check(z.maxLength(256 * 1024)),
    files: z.record(z.string(), z.string()),
  })
  .check(
    z.superRefine((pkg, ctx) => {
      const entries = Object.entries(pkg.files);
      if (entries.length > BLUEPRINT_LIMITS.maxFiles) ctx.addIssue({ code: 'custom', path: ['files'], message: `more than ${BLUEPRINT_LIMITS.maxFiles} modules` });
      let bytes = 0;
      for (const [rel, source] of entries) {
        const problem = modulePathProblem(rel);
        if (problem) ctx.addIssue({ code: 'custom', path: ['files', rel], message: problem });
        bytes += Buffer.byteLength(source);
      }
      if (bytes > BLUEPRINT_LIMITS.maxBytes) ctx.addIssue({ code: 'custom', path: ['files'], message: `more than ${BLUEPRINT_LIMITS.maxBytes} bytes of code` });
    }),
  );

export type TemplatePackage = z.output<typeof templatePackageSchema>;

/** Largest response body the client reads: the code limit plus the manifest plus JSON escaping headroom. */
export const MAX_PACKAGE_BYTES = 2 * BLUEPRINT_LIMITS.maxBytes + 512 * 1024;
