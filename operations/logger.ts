/**
 * Logging: JSON lines to a rotating file per topology (what `tail` reads), and readable lines on the
 * console. Every line passes through the secret mask first, so no configured secret reaches a log.
 */
import { lstatSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import { maskSecrets } from '../topology/secrets.ts';
import type { LoggingConfig } from '../topology/model.ts';

/** Mask secrets in the message and in every string field, at any depth. */
const maskFormat = winston.format((info) => {
  const mask = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return maskSecrets(value);
    if (depth > 6 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => mask(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mask(v, depth + 1);
    return out;
  };
  for (const key of Object.keys(info)) (info as Record<string, unknown>)[key] = mask((info as Record<string, unknown>)[key], 0);
  return info;
});

function fmt(n: unknown): string {
  return typeof n === 'number' ? (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 })) : String(n);
}

/** One readable console line; progress events get a compact one-line summary. */
const prettyFormat = winston.format.printf((info) => {
  const time = new Date().toISOString().slice(11, 23);
  const where = info.pipeline ? `[${info.pipeline}] ` : '';
  if (info.event === 'progress') {
    const p = info as Record<string, any>;
    const dead = p.numDeadLetterRows ? `, ${fmt(p.numDeadLetterRows)} dead-lettered` : '';
    const lag = p.sources?.[0]?.metrics?.lag !== undefined ? `, lag ${fmt(p.sources[0].metrics.lag)}` : '';
    const wm = p.watermark ? `, watermark ${new Date(p.watermark).toISOString().slice(11, 19)}` : '';
    return `${time} ${where}batch ${p.batchId}: ${fmt(p.numInputRows)} in → ${fmt(p.sink?.numOutputRows)} written in ${fmt(p.durationMs?.triggerExecution)} ms (${fmt(Math.round(p.processedRowsPerSecond))} rows/s)${dead}${lag}${wm}`;
  }
  const extra = info.error ? ` — ${info.error}` : '';
  return `${time} ${info.level.padEnd(5)} ${where}${info.message}${extra}`;
});

export interface TopologyLogger {
  logger: winston.Logger;
  /** The JSON log file (written from the start, or from `openFile` when created with `{ file: false }`). */
  file: string;
  /** Start writing the log file: deferred until start-up checks pass, so a refused start writes nothing. */
  openFile(): void;
  close(): Promise<void>;
}

/** The log file of a topology under a log folder. */
export function logFileOf(dir: string, topology: string): string {
  return path.resolve(dir, `${topology}.log`);
}

export function createTopologyLogger(topology: string, config: LoggingConfig, options: { file?: boolean } = {}): TopologyLogger {
  const file = logFileOf(config.dir, topology);
  const transports: winston.transport[] = [];
  if (config.console !== 'off') {
    transports.push(
      new winston.transports.Console({
        stderrLevels: ['error', 'warn'],
        format: config.console === 'json' ? winston.format.combine(maskFormat(), winston.format.timestamp(), winston.format.json()) : winston.format.combine(maskFormat(), prettyFormat),
      }),
    );
  }
  // A silent stand-in keeps winston from warning about a logger without transports.
  const placeholder = new winston.transports.Console({ silent: true });
  if (transports.length === 0) transports.push(placeholder);
  const logger = winston.createLogger({ level: config.level, defaultMeta: { topology }, transports });
  let opened = false;
  const openFile = () => {
    if (opened) return;
    opened = true;
    mkdirSync(path.dirname(file), { recursive: true });
    // <topology>.log must be free for the symlink to the live file (a regular file there, e.g. from an
    // older version, would silently keep it from being created): move it aside.
    if (lstatSync(file, { throwIfNoEntry: false })?.isFile()) renameSync(file, `${file}.old`);
    logger.add(
      // Not winston's own File transport: rotating by size, it loses lines and can throw "write after
      // end" under load. This one rotates to <topology>-<date>.log.N and keeps <topology>.log a symlink
      // to the live file, which is what `npm run tail` follows.
      new DailyRotateFile({
        dirname: path.dirname(file),
        filename: `${topology}-%DATE%.log`,
        datePattern: 'YYYY-MM-DD',
        utc: true,
        maxSize: config.maxSize,
        maxFiles: config.maxFiles,
        createSymlink: true,
        symlinkName: path.basename(file),
        auditFile: path.join(path.dirname(file), `.${topology}-audit.json`),
        format: winston.format.combine(maskFormat(), winston.format.timestamp(), winston.format.json()),
      }),
    );
    if (logger.transports.includes(placeholder)) logger.remove(placeholder);
  };
  if (options.file !== false) openFile();
  return {
    logger,
    file,
    openFile,
    close: () =>
      new Promise<void>((resolve) => {
        logger.on('finish', () => setTimeout(resolve, 50));
        logger.end();
      }),
  };
}

/** A logger that drops everything (tests). */
export function silentLogger(): winston.Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
