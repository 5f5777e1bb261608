import { type Logger, pino } from 'pino';

export type { Logger };

/** Root logger: JSON lines to stderr (journald collects them); stdout stays for command output. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'hatang-agent' } }, pino.destination(2));
}
