// Test support: small in-memory devices implementing the drivers/device.ts contracts, so the HAL's checks can be
// tested without buses. The real drivers are tested against sim and real buses in drivers/.
import { Duplex, PassThrough } from 'node:stream';
import type { CameraFrame, ICameraSource } from '../drivers/camera/camera-source.ts';
import type { ActuatorCommand, DeviceStatus, IActuatorDevice, ICameraDevice, IInputDevice, ISensorDevice, ISerialDevice, InputEdge } from '../drivers/device.ts';

export class FakeSensor implements ISensorDevice {
  readonly kind = 'sensor' as const;
  readonly driver = 'fake-sensor';
  reads = 0;
  constructor(readonly id: string, readonly quantities: readonly string[], public values: Record<string, number>) {}
  async read(q: string): Promise<number> {
    this.reads += 1;
    return this.values[q] ?? Number.NaN;
  }
  status(): DeviceStatus {
    return { value: { ...this.values } };
  }
  async close(): Promise<void> {}
}

export class FakeRelay implements IActuatorDevice {
  readonly kind = 'actuator' as const;
  readonly driver = 'fake-relay';
  readonly envelope = { commands: ['on', 'off'] as const };
  readonly safeState: ActuatorCommand = 'off';
  state: ActuatorCommand = 'off';
  applied: ActuatorCommand[] = [];
  constructor(readonly id: string) {}
  async apply(command: ActuatorCommand): Promise<void> {
    this.applied.push(command);
    this.state = command;
  }
  status(): DeviceStatus {
    return { value: this.state };
  }
  async close(): Promise<void> {}
}

export class FakeInput implements IInputDevice {
  readonly kind = 'input' as const;
  readonly driver = 'fake-input';
  readonly listeners = new Set<(e: InputEdge) => void>();
  constructor(readonly id: string) {}
  async read(): Promise<0 | 1> {
    return 0;
  }
  watch(listener: (e: InputEdge) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(edge: InputEdge): void {
    for (const l of this.listeners) l(edge);
  }
  status(): DeviceStatus {
    return { value: 0 };
  }
  async close(): Promise<void> {}
}

/** A camera whose frames the test pushes; `subscribers` shows whether anyone is streaming. */
export class FakeCameraSource implements ICameraSource {
  readonly listeners = new Set<(f: CameraFrame) => void>();
  seq = 0;
  constructor(readonly id: string) {}
  async snapshot(): Promise<Buffer> {
    return jpeg(0);
  }
  subscribe(listener: (f: CameraFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  push(): void {
    this.seq += 1;
    for (const l of this.listeners) l({ jpeg: jpeg(this.seq), at: this.seq, seq: this.seq });
  }
  async close(): Promise<void> {}
}

export function jpeg(n: number): Buffer {
  return Buffer.from([0xff, 0xd8, n & 0xff, 0xff, 0xd9]);
}

export class FakeCamera implements ICameraDevice {
  readonly kind = 'camera' as const;
  readonly driver = 'fake-camera';
  readonly source: FakeCameraSource;
  constructor(readonly id: string) {
    this.source = new FakeCameraSource(id);
  }
  status(): DeviceStatus {
    return {};
  }
  async close(): Promise<void> {}
}

/** A serial device that echoes back what it receives, upper-cased. */
export class FakeSerial implements ISerialDevice {
  readonly kind = 'serial' as const;
  readonly driver = 'fake-serial';
  opened = 0;
  constructor(readonly id: string) {}
  async open(): Promise<Duplex> {
    this.opened += 1;
    const fromDevice = new PassThrough();
    return new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        fromDevice.write(Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1'));
        cb();
      },
      construct(cb) {
        fromDevice.on('data', (d: Buffer) => this.push(d));
        cb();
      },
    });
  }
  status(): DeviceStatus {
    return {};
  }
  async close(): Promise<void> {}
}
