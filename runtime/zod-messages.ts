/**
 * zod's English messages for every schema (docs/ARCHITECTURE.md "Validation at the boundary"). The production
 * schemas use zod/mini (issue 12: each of its schemas holds less heap than a classic zod one), and zod/mini, unlike
 * classic zod, does not install a locale by itself: without this, every built-in message would read
 * "Invalid input" instead of e.g. "Too small: expected number to be >=8" (README "Configuration" shows them).
 * Every module that builds schemas imports this one for its effect (runtime/zod-imports.test.ts checks), so the
 * messages are the same whichever schema a process (daemon, CLI, a test) loads first. Idempotent.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());
