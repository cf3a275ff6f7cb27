/**
 * The agent-side IHAL (README "Writing an agent"): turns calls into channel requests; the daemon's HAL service checks them.
 * Pure — it imports only runtime/core, never node:* or daemon code — so it runs in every isolate kind.
 *
 * Streams are pull-based (camera frames, serial reads): the daemon sends data only when the agent's stream asks,
 * so a slow agent bounds its own memory. Subscriptions hold the channel (retain), so an agent that is watching
 * or streaming does not end as "idle".
 */
import type { IsolateChannel } from '../runtime/core/channel-methods.ts';
import type { HalInputEdge, HalSerialStream, IHAL } from '../runtime/core/hal-api.ts';

/** The `hal.edge` note (declared in the channel's table). */
export type { HalEdgeNote as EdgeNote } from '../runtime/core/channel-methods.ts';

export class HalProxy implements IHAL {
  readonly #channel: IsolateChannel;
  readonly #reportError: (message: string) => void;
  readonly #watchers = new Map<number, (edge: HalInputEdge) => void>();

  /** @param reportError where errors of fire-and-forget calls go (the agent's log), since watch() cannot throw them */
  constructor(channel: IsolateChannel, reportError: (message: string) => void) {
    this.#channel = channel;
    this.#reportError = reportError;
    channel.onNote('hal.edge', (note) => {
      const listener = this.#watchers.get(note.watchId);
      if (!listener) return;
      try {
        listener(note.edge);
      } catch (err) {
        this.#reportError(`watch listener threw: ${(err as Error).message}`);
      }
    });
  }

  getSensorData(sensorType: string): Promise<number> {
    return this.#channel.request('hal.read', { sensorType });
  }

  async controlActuator(deviceId: string, command: string | number | boolean): Promise<void> {
    await this.#channel.request('hal.control', { deviceId, command });
  }

  getCameraStream(deviceId: string): ReadableStream<Uint8Array> {
    const channel = this.#channel;
    let after = -1;
    let release: (() => void) | undefined;
    let closed = false;
    // Opened on construction (not lazily) so that cancel() can always wait for it and close what it opened.
    const opened = channel.request('hal.camera.open', { deviceId }).then((r) => {
      release = channel.retain();
      return r.streamId;
    });
    opened.catch(() => undefined); // surfaced through start()
    // Whatever ends the stream — cancel, an error, the agent giving up — closes the daemon side and releases the
    // isolate's keep-alive, or the camera process would run on for nobody.
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      const streamId = await opened.catch(() => undefined);
      release?.();
      if (streamId !== undefined) await channel.request('hal.camera.close', { streamId }).catch(() => undefined);
    };
    return new ReadableStream<Uint8Array>(
      {
        async start() {
          await opened;
        },
        async pull(controller) {
          try {
            const frame = await channel.request('hal.camera.next', { streamId: await opened, after });
            after = frame.seq;
            controller.enqueue(new Uint8Array(frame.jpeg));
          } catch (err) {
            await close();
            throw err;
          }
        },
        cancel: close,
      },
      { highWaterMark: 1 },
    );
  }

  watch(deviceId: string, listener: (edge: HalInputEdge) => void): () => void {
    const release = this.#channel.retain();
    let watchId: number | undefined;
    let cancelled = false;
    void this.#channel.request('hal.watch', { deviceId }).then(
      (r) => {
        watchId = r.watchId;
        if (cancelled) void this.#channel.request('hal.unwatch', { watchId }).catch(() => undefined);
        else this.#watchers.set(watchId, listener);
      },
      (err: Error & { code?: string }) => {
        release();
        this.#reportError(`watch(${deviceId}) failed: ${err.code ?? 'ERR'}: ${err.message}`);
      },
    );
    return () => {
      if (cancelled) return;
      cancelled = true;
      release();
      if (watchId !== undefined) {
        this.#watchers.delete(watchId);
        void this.#channel.request('hal.unwatch', { watchId }).catch(() => undefined);
      }
    };
  }

  async openSerial(deviceId: string): Promise<HalSerialStream> {
    const channel = this.#channel;
    const { portId } = await channel.request('hal.serial.open', { deviceId });
    const release = channel.retain();
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      release();
      await channel.request('hal.serial.close', { portId }).catch(() => undefined);
    };
    const readable = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          let data: ArrayBuffer | null;
          try {
            ({ data } = await channel.request('hal.serial.read', { portId }));
          } catch (err) {
            await close();
            throw err;
          }
          if (data === null) {
            controller.close();
            await close(); // the device ended the stream: release the port for others
          } else {
            controller.enqueue(new Uint8Array(data));
          }
        },
        cancel: close,
      },
      { highWaterMark: 0 },
    );
    const writable = new WritableStream<Uint8Array>({
      async write(chunk) {
        // A copy of just this view, so its buffer can be transferred rather than cloned again.
        const data = chunk.slice().buffer;
        await channel.request('hal.serial.write', { portId, data }, [data]);
      },
      close,
      abort: close,
    });
    return { readable, writable, close };
  }
}
