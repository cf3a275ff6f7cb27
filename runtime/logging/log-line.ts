/** One line of an agent's log, as the log book keeps it and `openstarry logs` shows it (runtime/control/protocol.ts). */
export interface LogLine {
  time: string;
  pid: string;
  agentId: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}
