import type { ReadingSink, SchemeTopic } from '../broker/index.js'
import type { BridgeConfig } from './config.js'
import type { ReadingLog } from './reading-log.js'

/** The broker's hook into the reading log: events named `temp` in format `json` (configurable) are readings. */
export function readingSinkFor (log: ReadingLog, cfg: Pick<BridgeConfig, 'readingEvent' | 'readingFormat'>): ReadingSink {
  return {
    accepts: (topic: SchemeTopic) => topic.kind === 'evt' && topic.name === cfg.readingEvent && topic.format === cfg.readingFormat,
    append: async reading => await log.append(reading)
  }
}
