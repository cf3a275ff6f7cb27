/**
 * A small, pull-correct subset of WHATWG streams for QuickJS, enough for the HAL proxy's camera and serial streams
 * (hal/hal-proxy.ts) and for agents reading them:
 *   ReadableStream(source {start, pull, cancel}, {highWaterMark})  getReader() -> read/releaseLock/cancel/closed,
 *     cancel(), locked, for await…of (values({ preventCancel })), pipeTo(writable)
 *   WritableStream(sink {start, write, close, abort}, {highWaterMark})  getWriter() -> write/close/abort/
 *     releaseLock/ready/closed/desiredSize, close(), abort(), locked
 * Semantics kept: pull() runs only after start() settled, one at a time, while reads wait or the queue is below
 * the high-water mark (so highWaterMark 0 = pull only on read); chunks go out in order; close() drains first;
 * an error rejects pending and later reads. Not provided: byte streams (BYOB), tee(), pipeThrough(),
 * TransformStream, size() strategies (every chunk counts 1). Only installed where missing.
 */
interface ReadResult<T> {
  value: T | undefined;
  done: boolean;
}
interface Source<T> {
  start?(controller: Controller<T>): unknown;
  pull?(controller: Controller<T>): unknown;
  cancel?(reason: unknown): unknown;
}
interface Sink<T> {
  start?(controller: { error(e: unknown): void }): unknown;
  write?(chunk: T, controller: { error(e: unknown): void }): unknown;
  close?(): unknown;
  abort?(reason: unknown): unknown;
}

class Controller<T> {
  readonly #stream: ReadableStreamLite<T>;
  constructor(stream: ReadableStreamLite<T>) {
    this.#stream = stream;
  }
  get desiredSize(): number | null {
    return this.#stream._desiredSize();
  }
  enqueue(chunk: T): void {
    this.#stream._enqueue(chunk);
  }
  close(): void {
    this.#stream._requestClose();
  }
  error(e: unknown): void {
    this.#stream._error(e);
  }
}

type Waiter<T> = { resolve: (r: ReadResult<T>) => void; reject: (e: unknown) => void };

class ReadableStreamLite<T> {
  readonly #source: Source<T>;
  readonly #hwm: number;
  readonly #controller: Controller<T>;
  #queue: T[] = [];
  #waiters: Waiter<T>[] = [];
  #state: 'readable' | 'closed' | 'errored' = 'readable';
  #error: unknown;
  #closeRequested = false;
  #started = false;
  #pulling = false;
  #pullAgain = false;
  #reader: ReaderLite<T> | undefined;
  #closed: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void };

  constructor(source: Source<T> = {}, strategy: { highWaterMark?: number } = {}) {
    this.#source = source;
    this.#hwm = strategy.highWaterMark ?? 1;
    this.#controller = new Controller(this);
    this.#closed = deferred();
    this.#closed.promise.catch(() => undefined);
    Promise.resolve()
      .then(() => source.start?.(this.#controller))
      .then(
        () => {
          this.#started = true;
          this.#pullIfNeeded();
        },
        (e: unknown) => this._error(e),
      );
  }

  get locked(): boolean {
    return this.#reader !== undefined;
  }

  getReader(): ReaderLite<T> {
    if (this.#reader) throw new TypeError('ReadableStream is locked to a reader');
    this.#reader = new ReaderLite(this);
    return this.#reader;
  }

  cancel(reason?: unknown): Promise<void> {
    if (this.#reader) return Promise.reject(new TypeError('cannot cancel a locked ReadableStream'));
    return this._cancel(reason);
  }

  values(options?: { preventCancel?: boolean }): AsyncIterableIterator<T> {
    const reader = this.getReader();
    const iterator: AsyncIterableIterator<T> = {
      next: async () => {
        const r = await reader.read();
        if (r.done) reader.releaseLock();
        return r.done ? { value: undefined, done: true } : { value: r.value as T, done: false };
      },
      return: async (value?: unknown) => {
        if (!options?.preventCancel) await reader.cancel();
        reader.releaseLock();
        return { value: value as T, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.values();
  }

  async pipeTo(dest: WritableStreamLite<T>, options?: { preventClose?: boolean }): Promise<void> {
    const reader = this.getReader();
    const writer = dest.getWriter();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        await writer.write(r.value as T);
      }
      if (!options?.preventClose) await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => undefined);
      await reader.cancel(err).catch(() => undefined);
      throw err;
    } finally {
      reader.releaseLock();
      writer.releaseLock();
    }
  }

  // Internals used by the controller and the reader.
  _closedPromise(): Promise<void> {
    return this.#closed.promise;
  }
  _release(reader: ReaderLite<T>): void {
    if (this.#reader !== reader) return;
    this.#reader = undefined;
    for (const w of this.#waiters.splice(0)) w.reject(new TypeError('reader released'));
  }
  _desiredSize(): number | null {
    if (this.#state === 'errored') return null;
    if (this.#state === 'closed') return 0;
    return this.#hwm - this.#queue.length;
  }
  _read(): Promise<ReadResult<T>> {
    if (this.#queue.length > 0) {
      const value = this.#queue.shift() as T;
      if (this.#closeRequested && this.#queue.length === 0) this.#finishClose();
      else this.#pullIfNeeded();
      return Promise.resolve({ value, done: false });
    }
    if (this.#state === 'closed') return Promise.resolve({ value: undefined, done: true });
    if (this.#state === 'errored') return Promise.reject(this.#error);
    const p = new Promise<ReadResult<T>>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#pullIfNeeded();
    return p;
  }
  _enqueue(chunk: T): void {
    if (this.#state !== 'readable' || this.#closeRequested) throw new TypeError('ReadableStream is closed');
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ value: chunk, done: false });
    else this.#queue.push(chunk);
    this.#pullIfNeeded();
  }
  _requestClose(): void {
    if (this.#state !== 'readable' || this.#closeRequested) throw new TypeError('ReadableStream is already closed');
    this.#closeRequested = true;
    if (this.#queue.length === 0) this.#finishClose();
  }
  _error(e: unknown): void {
    if (this.#state !== 'readable') return;
    this.#state = 'errored';
    this.#error = e;
    this.#queue = [];
    for (const w of this.#waiters.splice(0)) w.reject(e);
    this.#closed.reject(e);
  }
  async _cancel(reason: unknown): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'errored') throw this.#error;
    this.#queue = [];
    this.#finishClose();
    await this.#source.cancel?.(reason);
  }

  #finishClose(): void {
    if (this.#state !== 'readable') return;
    this.#state = 'closed';
    for (const w of this.#waiters.splice(0)) w.resolve({ value: undefined, done: true });
    this.#closed.resolve();
  }

  #pullIfNeeded(): void {
    if (!this.#started || this.#state !== 'readable' || this.#closeRequested) return;
    if (this.#waiters.length === 0 && (this._desiredSize() ?? 0) <= 0) return;
    if (this.#pulling) {
      this.#pullAgain = true;
      return;
    }
    this.#pulling = true;
    Promise.resolve()
      .then(() => this.#source.pull?.(this.#controller))
      .then(
        () => {
          this.#pulling = false;
          if (this.#pullAgain) {
            this.#pullAgain = false;
            this.#pullIfNeeded();
          }
        },
        (e: unknown) => this._error(e),
      );
  }
}

class ReaderLite<T> {
  #stream: ReadableStreamLite<T> | undefined;
  readonly closed: Promise<void>;
  constructor(stream: ReadableStreamLite<T>) {
    this.#stream = stream;
    this.closed = stream._closedPromise();
  }
  read(): Promise<ReadResult<T>> {
    return this.#stream ? this.#stream._read() : Promise.reject(new TypeError('reader released'));
  }
  cancel(reason?: unknown): Promise<void> {
    return this.#stream ? this.#stream._cancel(reason) : Promise.reject(new TypeError('reader released'));
  }
  releaseLock(): void {
    this.#stream?._release(this);
    this.#stream = undefined;
  }
}

class WritableStreamLite<T> {
  readonly #sink: Sink<T>;
  readonly #hwm: number;
  #state: 'writable' | 'closing' | 'closed' | 'errored' = 'writable';
  #error: unknown;
  #chain: Promise<void>;
  #queued = 0;
  #writer: WriterLite<T> | undefined;
  readonly #closed = deferred();

  constructor(sink: Sink<T> = {}, strategy: { highWaterMark?: number } = {}) {
    this.#sink = sink;
    this.#hwm = strategy.highWaterMark ?? 1;
    this.#closed.promise.catch(() => undefined);
    const controller = { error: (e: unknown) => this.#fail(e) };
    this.#chain = Promise.resolve().then(() => sink.start?.(controller)).then(() => undefined);
    this.#chain.catch((e: unknown) => this.#fail(e));
  }

  get locked(): boolean {
    return this.#writer !== undefined;
  }
  getWriter(): WriterLite<T> {
    if (this.#writer) throw new TypeError('WritableStream is locked to a writer');
    this.#writer = new WriterLite(this);
    return this.#writer;
  }
  close(): Promise<void> {
    return this.#writer ? Promise.reject(new TypeError('WritableStream is locked')) : this._close();
  }
  abort(reason?: unknown): Promise<void> {
    return this.#writer ? Promise.reject(new TypeError('WritableStream is locked')) : this._abort(reason);
  }

  _closedPromise(): Promise<void> {
    return this.#closed.promise;
  }
  _release(writer: WriterLite<T>): void {
    if (this.#writer === writer) this.#writer = undefined;
  }
  _desiredSize(): number | null {
    if (this.#state === 'errored') return null;
    if (this.#state !== 'writable') return 0;
    return this.#hwm - this.#queued;
  }
  _write(chunk: T): Promise<void> {
    if (this.#state !== 'writable') return Promise.reject(this.#state === 'errored' ? this.#error : new TypeError('WritableStream is closed'));
    this.#queued += 1;
    const controller = { error: (e: unknown) => this.#fail(e) };
    const done = this.#chain.then(() => {
      if (this.#state === 'errored') throw this.#error;
      return this.#sink.write?.(chunk, controller);
    });
    this.#chain = done.then(
      () => {
        this.#queued -= 1;
      },
      (e: unknown) => {
        this.#queued -= 1;
        this.#fail(e);
      },
    );
    return done.then(() => undefined);
  }
  _close(): Promise<void> {
    if (this.#state !== 'writable') return Promise.reject(new TypeError('WritableStream is closed or errored'));
    this.#state = 'closing';
    const done = this.#chain.then(() => this.#sink.close?.()).then(() => {
      this.#state = 'closed';
      this.#closed.resolve();
    });
    done.catch((e: unknown) => this.#fail(e));
    return done;
  }
  async _abort(reason: unknown): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'errored') return;
    this.#fail(reason);
    await this.#sink.abort?.(reason);
  }
  #fail(e: unknown): void {
    if (this.#state === 'errored' || this.#state === 'closed') return;
    this.#state = 'errored';
    this.#error = e;
    this.#closed.reject(e);
  }
}

class WriterLite<T> {
  #stream: WritableStreamLite<T> | undefined;
  readonly closed: Promise<void>;
  constructor(stream: WritableStreamLite<T>) {
    this.#stream = stream;
    this.closed = stream._closedPromise();
  }
  get desiredSize(): number | null {
    return this.#stream?._desiredSize() ?? null;
  }
  get ready(): Promise<void> {
    return Promise.resolve();
  }
  write(chunk: T): Promise<void> {
    return this.#stream ? this.#stream._write(chunk) : Promise.reject(new TypeError('writer released'));
  }
  close(): Promise<void> {
    return this.#stream ? this.#stream._close() : Promise.reject(new TypeError('writer released'));
  }
  abort(reason?: unknown): Promise<void> {
    return this.#stream ? this.#stream._abort(reason) : Promise.reject(new TypeError('writer released'));
  }
  releaseLock(): void {
    this.#stream?._release(this);
    this.#stream = undefined;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const g = globalThis as Record<string, unknown>;
if (g.ReadableStream === undefined) g.ReadableStream = ReadableStreamLite;
if (g.WritableStream === undefined) g.WritableStream = WritableStreamLite;

export { ReadableStreamLite, WritableStreamLite };
