import type { LogFormat } from '../config/gateway-config.js'

/** What decides a process's log format, strongest first. */
export interface LogFormatChoice {
  /** `--log-format`, when given. */
  readonly flag?: LogFormat
  /** MQGATE_LOG_FORMAT, when set (already validated by the config loader). */
  readonly env?: LogFormat
  /** Whether stdout is a terminal: a person is reading. */
  readonly terminal: boolean
}

/**
 * The flag beats the environment, which beats the guess: pretty for a person
 * at a terminal, JSON for everything else (a pipe, a file, a container's
 * stdout, a log shipper), so machines keep getting one object a line.
 */
export function chooseLogFormat (choice: LogFormatChoice): LogFormat {
  return choice.flag ?? choice.env ?? (choice.terminal ? 'pretty' : 'json')
}
