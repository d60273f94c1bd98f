import { pino, type DestinationStream, type Logger } from 'pino'
import { prettyFactory } from 'pino-pretty'
import type { LogFormat } from '../config/gateway-config.js'

/**
 * The process's root logger. Secrets are kept out by construction (nothing
 * logs a key, a payload or a password); `redact` is only the backstop.
 */
export function createRootLogger (level: string, destination?: DestinationStream): Logger {
  return pino({
    name: 'mqgate',
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['password', 'token', 'passphrase', 'key', 'keyPem', 'privateKey', '*.password', '*.token', '*.passphrase', '*.key', '*.keyPem', '*.privateKey', 'pin', '*.pin'],
      censor: '[redacted]'
    }
  }, destination ?? pino.destination(1))
}

/**
 * A process's root logger on stdout, in the format chosen by chooseLogFormat.
 * JSON is written asynchronously (pino's default: throughput; flushed at
 * exit). Pretty lines are for a person and are written synchronously, as
 * process.stdout writes to a terminal, so they keep their order with the
 * welcome text rather than arriving after it.
 */
export function createProcessLogger (level: string, format: LogFormat): Logger {
  return format === 'pretty'
    ? createRootLogger(level, prettyLines(pino.destination({ dest: 1, sync: true })))
    : createRootLogger(level, pino.destination(1))
}

/**
 * Each JSON line pino writes, rewritten by pino-pretty in this thread before
 * it reaches stdout: no worker transport, so no thread to leak and no line
 * still in flight when the process exits. The line is redacted before it gets here. Colours
 * only where pino-pretty finds a colour terminal (NO_COLOR, FORCE_COLOR apply).
 */
function prettyLines (stdout: DestinationStream): DestinationStream {
  const format = prettyFactory({
    // One line a record, the fields in braces: a busy gateway stays readable.
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // The pid stays: with --workers it tells the processes apart.
    ignore: 'hostname'
  })
  return { write: (line: string) => stdout.write(format(line)) }
}
