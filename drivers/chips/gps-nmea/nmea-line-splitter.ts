/**
 * Bytes from the serial port -> NMEA lines, with a bounded buffer. A sentence is at most 82 characters
 * (NMEA 0183 §5.3); a line longer than MAX_LINE_BYTES is garbage (wrong baud rate, binary UBX/SiRF output mixed
 * in) and is dropped whole — everything up to the next line feed — and counted, so memory stays bounded whatever
 * the port delivers.
 */
export const MAX_LINE_BYTES = 256;

export class NmeaLineSplitter {
  #buffer = '';
  #discarding = false;
  /** Lines dropped for being too long. */
  overlong = 0;

  /** Feeds a chunk; returns the complete lines in it (without CR/LF, empty lines skipped). */
  push(chunk: Buffer | string): string[] {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const lines: string[] = [];
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      this.#append(text.slice(from, nl));
      if (!this.#discarding) {
        const line = this.#buffer.replace(/\r$/, '');
        if (line !== '') lines.push(line);
      }
      this.#buffer = '';
      this.#discarding = false;
      from = nl + 1;
    }
    this.#append(text.slice(from));
    return lines;
  }

  #append(part: string): void {
    if (this.#discarding) return;
    this.#buffer += part;
    if (this.#buffer.length > MAX_LINE_BYTES) {
      this.overlong++;
      this.#buffer = '';
      this.#discarding = true;
    }
  }
}
