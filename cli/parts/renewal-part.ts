import { RetirementSweeper } from '../../certs/index.js'
import type { PartContext } from './context.js'

/**
 * Retires the certificates renewed over EST (`simplereenroll`) once their
 * replacement has been used and MQGATE_RENEW_GRACE has passed, or at their
 * own expiry. Every process that serves devices runs one; a lease per
 * renewal in the shared store has one of them revoke each, once.
 */
export async function renewalPart ({ cfg, log, registry, onClose }: PartContext): Promise<void> {
  const sweeper = new RetirementSweeper(registry, { graceMs: cfg.renewal.graceMs, log: log.child({ component: 'renewal' }) })
  sweeper.start()
  onClose(async () => await sweeper.close())
}
