/**
 * A winston transport that keeps every log entry in an array, for tests that assert on what was logged.
 */
import Transport from 'winston-transport';

export interface LogEntry {
  level: string;
  message: string;
  [key: string]: unknown;
}

export class CaptureTransport extends Transport {
  constructor(private readonly entries: LogEntry[]) {
    super();
  }

  override log(info: LogEntry, next: () => void): void {
    this.entries.push(info);
    next();
  }
}
