import type { FastifyBaseLogger } from 'fastify';

type Bindings = Record<string, unknown>;
type Log = (...args: unknown[]) => void;

/**
 * A request's logger, bound to its reqId, whose pino child is made only when the request logs
 * something at an enabled level. Fastify makes a pino child for every request, and at info level
 * most requests log nothing: the children were a measurable share of a replica's CPU
 * (docs/benchmarks.md, "Where the two cores go"). A line that is written is the same as before.
 * A class, not closures: one small object per request.
 */
class LazyLogger {
  private made?: FastifyBaseLogger;
  constructor(private readonly parent: FastifyBaseLogger, private readonly bindings: Bindings, private readonly opts: object) {}

  private real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.opts));
  }

  private write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
    const parent = this.parent as FastifyBaseLogger & { isLevelEnabled?: (l: string) => boolean };
    if (this.made === undefined && parent.isLevelEnabled?.(level) === false) return;
    (this.real()[level] as Log)(...args);
  }

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }
  set level(value: string) {
    this.real().level = value;
  }
  child(bindings: Bindings, opts?: object): FastifyBaseLogger {
    return this.real().child(bindings, opts);
  }
  silent(): void {}
  fatal(...args: unknown[]): void { this.write('fatal', args); }
  error(...args: unknown[]): void { this.write('error', args); }
  warn(...args: unknown[]): void { this.write('warn', args); }
  info(...args: unknown[]): void { this.write('info', args); }
  debug(...args: unknown[]): void { this.write('debug', args); }
  trace(...args: unknown[]): void { this.write('trace', args); }
}

/** Fastify's `childLoggerFactory`: see LazyLogger. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, opts: object): FastifyBaseLogger {
  return new LazyLogger(logger, bindings, opts) as unknown as FastifyBaseLogger;
}
