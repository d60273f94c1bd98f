import { NAME_PATTERN } from '../certs/index.js'
import type { Identity } from './identity.js'

/**
 * The two name schemes of the identity path (design.md, "Identity"), and the
 * only code that writes or reads them: the SNI name `<org>.messaging.<domain>`
 * that picks the organisation, and the MQTT clientId an identity owns in it.
 */

const LABEL = 'messaging'

/** `<org>.messaging.<domain>`: the name an organisation is reached by, and its server certificate's. */
export function serverNameOf (orgId: string, domain: string): string {
  return `${orgId}.${LABEL}.${domain}`
}

/**
 * What `<label>.messaging.<domain>` (any case) names as the organisation, or
 * undefined for a name outside that domain; the label may name no
 * organisation (refused as unknown, not sent to the default one).
 */
export function orgOfServerName (name: string | undefined, domain: string): string | undefined {
  const suffix = `.${LABEL}.${domain.toLowerCase()}`
  const lower = (name ?? '').toLowerCase()
  if (!lower.endsWith(suffix)) return undefined
  const label = lower.slice(0, -suffix.length)
  return label === '' ? undefined : label
}

/** The MQTT clientId an identity owns in an organisation: `d:<org>:<type>:<id>`, `g:<org>:<type>:<id>`, `a:<org>:<app>`. */
export function clientIdOf (identity: Identity, orgId: string): string {
  switch (identity.kind) {
    case 'device': return deviceClientIdOf(orgId, identity.typeId, identity.id)
    case 'gateway': return `g:${orgId}:${identity.typeId}:${identity.id}`
    case 'application': return `a:${orgId}:${identity.appId}`
  }
}

/** A device's clientId, from its organisation, type and id (as the bridge names the device of a reading). */
export function deviceClientIdOf (orgId: string, typeId: string, deviceId: string): string {
  return `d:${orgId}:${typeId}:${deviceId}`
}

/**
 * The clientId must be the identity's own, so that no certificate can take
 * over another client's session [MQTT-3.1.4-2 disconnects the older one].
 * Applications may run several instances, told apart by a `:<n>` suffix.
 */
export function clientIdBelongsTo (clientId: string, identity: Identity, orgId: string): boolean {
  const own = clientIdOf(identity, orgId)
  if (clientId === own) return true
  if (identity.kind !== 'application' || !clientId.startsWith(own + ':')) return false
  return NAME_PATTERN.test(clientId.slice(own.length + 1))
}

/** The organisation a clientId names (`d:<org>:...`, `c:<org>:...`), for sessions whose TLS layer kept no SNI name. */
export function orgOfClientId (clientId: string | undefined): string | undefined {
  const [kind, orgId] = (clientId ?? '').split(':')
  return (kind === 'd' || kind === 'g' || kind === 'a' || kind === 'c') && orgId !== undefined && orgId !== '' ? orgId : undefined
}

/**
 * A claim certificate's session (issue 13, MQTT-only devices):
 * `c:<org>:<claim>:<nonce>`, the nonce 1-64 characters of [A-Za-z0-9._-]
 * chosen by the device, so that the devices of one batch, which share the
 * claim certificate, do not take over each other's session [MQTT-3.1.4-2].
 */
export function claimClientIdBelongsTo (clientId: string, claimName: string, orgId: string): boolean {
  const own = `c:${orgId}:${claimName}:`
  return clientId.startsWith(own) && NAME_PATTERN.test(clientId.slice(own.length))
}

/** Whether a clientId asks for a claim's enrollment session (`c:...`): decided by claimClientIdBelongsTo. */
export function isClaimClientId (clientId: string): boolean {
  return clientId.startsWith('c:')
}
