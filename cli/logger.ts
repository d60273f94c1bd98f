import { pino, type DestinationStream, type Logger } from 'pino'

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
