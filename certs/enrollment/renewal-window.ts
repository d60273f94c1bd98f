import { CertsError } from '../errors.js'
import type { Actor, OrgRegistry } from '../org-registry.js'
import type { OrgState } from '../records.js'

/**
 * How early in its lifetime a certificate may renew (`mqgate org renewal
 * <org> --window N%`): in the last N % only, so that a stolen certificate
 * cannot mint fresh ones at will. The default, 30 %, is where certbot and
 * cert-manager renew on their own (a third of the lifetime left: 30 days of
 * Let's Encrypt's 90, about 110 days of mqgate's 365): early enough for a
 * device that is offline for weeks, late enough that a stolen certificate
 * renews for most of a year only through its last third, and each renewal
 * retires the certificate it replaces. `--window any` (100 %) is step-ca's
 * default: any time before expiry.
 */
export const DEFAULT_RENEWAL_WINDOW_PERCENT = 30

/** `30%`, `30` or `any` (100 %); CERTS_ERR_RENEW_WINDOW_INVALID otherwise. */
export function parseRenewalWindow (text: unknown): number {
  const raw = typeof text === 'number' ? String(text) : typeof text === 'string' ? text.trim().toLowerCase() : ''
  if (raw === 'any') return 100
  const match = /^(\d{1,3})%?$/.exec(raw)
  const percent = match === null ? NaN : Number(match[1])
  if (!(percent >= 1 && percent <= 100)) throw new CertsError('CERTS_ERR_RENEW_WINDOW_INVALID', 'the renewal window is a percentage of the lifetime from 1% to 100% (or any)')
  return percent
}

export function renewalWindowOf (state: Pick<OrgState, 'org'>): number {
  const stored = state.org.renewal?.windowPercent
  return typeof stored === 'number' && stored >= 1 && stored <= 100 ? stored : DEFAULT_RENEWAL_WINDOW_PERCENT
}

/** The instant from which a certificate valid from `notBefore` to `notAfter` may renew under `windowPercent`. */
export function renewableFrom (notBefore: Date, notAfter: Date, windowPercent: number): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime()
  return new Date(notAfter.getTime() - Math.floor(lifetime * windowPercent / 100))
}

/** Writes the organisation's window (read from the store first: another field may have just changed), audits, reloads. */
export async function setRenewalWindow (registry: OrgRegistry, orgId: string, window: unknown, actor: Actor): Promise<number> {
  registry.require(orgId)
  const windowPercent = parseRenewalWindow(window)
  const org = (await registry.store.readOrg(orgId))?.org ?? registry.require(orgId).org
  await registry.store.updateOrg({ ...org, renewal: { windowPercent, updatedAt: new Date().toISOString() } })
  registry.audit(actor, 'org.renewal', orgId, { windowPercent })
  await registry.reload(orgId)
  return windowPercent
}
