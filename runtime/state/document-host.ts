/**
 * What the journal and the registry views need from the state DB: the live document and its write policy.
 * They mutate `doc` in place and call `changed()` (coalesced into the next flush) or `flush()` (write now).
 */
import type { Logger } from '../logging/logger.ts';
import type { StateRecovery } from './state-recovery.ts';
import type { StateDocument } from './state-schema.ts';

export interface DocumentHost {
  readonly doc: StateDocument;
  readonly recovery: StateRecovery;
  readonly log: Logger;
  /** The injected clock's time, in ms. */
  now(): number;
  /** Throws ERR_NOT_READY once the DB is closed: a change then would never reach the file. */
  assertOpen(): void;
  changed(): void;
  flush(): Promise<void>;
}
