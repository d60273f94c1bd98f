import { Writable } from 'node:stream'
import type { Logger } from 'pino'
import { createRootLogger } from '../../cli/logger.js'

/** A pino logger whose lines are parsed back into objects to assert on (pino's own test helper idea). */
export interface LogSink {
  readonly logger: Logger
  readonly lines: Array<Record<string, any>>
  /** The raw text written, to check that no secret ever reaches a log. */
  text (): string
  find (predicate: (line: Record<string, any>) => boolean): Record<string, any> | undefined
  /** Resolves with the first line (already written or to come) matching `predicate`. */
  waitFor (predicate: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>
}

export function createLogSink (level = 'info'): LogSink {
  const lines: Array<Record<string, any>> = []
  const chunks: string[] = []
  const waiters: Array<{ predicate: (line: Record<string, any>) => boolean, resolve: (line: Record<string, any>) => void }> = []
  const destination = new Writable({
    write (chunk, _encoding, done) {
      const text = chunk.toString()
      chunks.push(text)
      for (const raw of text.split('\n').filter(Boolean)) {
        const line = JSON.parse(raw)
        lines.push(line)
        for (const waiter of waiters.filter(w => w.predicate(line))) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
      done()
    }
  })
  return {
    logger: createRootLogger(level, destination),
    lines,
    text: () => chunks.join(''),
    find: predicate => lines.find(predicate),
    waitFor: async (predicate, timeoutMs = 5000) => {
      const found = lines.find(predicate)
      if (found !== undefined) return found
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching log line within ' + timeoutMs + ' ms')), timeoutMs)
        waiters.push({ predicate, resolve: line => { clearTimeout(timer); resolve(line) } })
      })
    }
  }
}
