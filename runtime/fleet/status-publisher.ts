/** A board's deployment status on `<prefix>deploy/status` (issue 16; README "Deploying updates"), for fleet-deployments.ts. */
import type { Clock } from '../clock.ts';
import type { DeployPhase } from '../deploy/deploy-types.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import { STATUS_TOPIC } from './deploy-document.ts';
import type { DeployDocument, DeployStatusMessage } from './deploy-document.ts';

/** One deployment's status messages: retained, QoS 1, through the link's persisted queue; a phase is sent once. */
export class StatusPublisher {
  readonly #sent = new Set<DeployPhase>();

  constructor(
    readonly link: Pick<MqttLink, 'publish'>,
    readonly clock: Clock,
    readonly doc: DeployDocument,
  ) {}

  entry(phase: DeployPhase, reason: string | undefined): { version: string; sha256: string; phase: string; reason?: string; at: string } {
    return { version: this.doc.version, sha256: this.doc.sha256, phase, ...(reason !== undefined ? { reason } : {}), at: new Date(this.clock.now()).toISOString() };
  }

  publish(p: { phase: DeployPhase; reason?: string }): void {
    if (this.#sent.has(p.phase)) return;
    this.publishAgain(p);
  }

  /** Sends a phase even if it was sent: `pending` once more, with a failed fetch's reason and the next attempt. */
  publishAgain(p: { phase: DeployPhase; reason?: string }): void {
    this.#sent.add(p.phase);
    const message: DeployStatusMessage = {
      templateId: this.doc.templateId,
      version: this.doc.version,
      sha256: this.doc.sha256,
      phase: p.phase,
      ...(p.reason !== undefined ? { reason: p.reason } : {}),
      at: new Date(this.clock.now()).toISOString(),
    };
    this.link.publish(STATUS_TOPIC, JSON.stringify(message), { qos: 1, retain: true });
  }
}
