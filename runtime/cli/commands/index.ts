/** Every `openstarry` command, in the order `help` lists them. */
import type { Command } from '../args.ts';
import { deploy } from './deploy.ts';
import { designLayer } from './design-layer.ts';
import { devices } from './devices.ts';
import { emit } from './emit.ts';
import { helpCommand } from './help.ts';
import { kill } from './kill.ts';
import { logs } from './logs.ts';
import { ps } from './ps.ts';
import { reload } from './reload.ts';
import { spawn } from './spawn.ts';
import { start } from './start.ts';
import { status } from './status.ts';
import { templates } from './templates.ts';
import { validate } from './validate.ts';

export const commands: readonly Command[] = [start, spawn, kill, ps, status, templates, devices, validate, emit, reload, logs, designLayer, deploy, helpCommand(() => commands)];
