#!/usr/bin/env node
/** The `openstarry` executable's entry (and esbuild's entry for dist/openstarry.js): run, then exit. */
import { runAsEntry } from './main.ts';

await runAsEntry();
