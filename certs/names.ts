import { isIP } from 'node:net'

/**
 * The name rules shared by certificates, client ids and topics: these values
 * become MQTT topic levels and SNI labels, so they are kept to a charset that
 * can never carry a separator, a wildcard or a control character.
 */

/** typeId, deviceId, appId, event and format names (design.md, "Identity"). */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

/**
 * Organisation ids are also the first label of `<org>.messaging.<domain>`, so
 * they follow DNS label rules (lowercase, since hostnames compare without case),
 * a strict subset of NAME_PATTERN.
 */
export const ORG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export function isValidName (value: string): boolean {
  return NAME_PATTERN.test(value)
}

export function isValidOrgId (value: string): boolean {
  return ORG_PATTERN.test(value)
}

const DNS_NAME = /^(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i

/** A name a server certificate may carry: a DNS name (a leading `*.` allowed) or an IP address. */
export function isServerName (value: string): boolean {
  return DNS_NAME.test(value) || isIP(value) !== 0
}

/** The file-name form of a CN used for bootstrap and `--out` files: `d:sensor:x` → `d_sensor_x`. */
export function fileNameForCommonName (commonName: string): string {
  return commonName.replaceAll(':', '_')
}

/** What a certificate CN names (design.md, "Identity"): the class and its names. */
export type IdentityName =
  | { readonly kind: 'device' | 'gateway', readonly typeId: string, readonly id: string }
  | { readonly kind: 'application', readonly appId: string }

/** `d:<typeId>:<deviceId>`, `g:<typeId>:<gatewayId>` or `a:<appId>`, each name NAME_PATTERN; nothing else. */
export function parseIdentityName (commonName: string): IdentityName | undefined {
  const parts = commonName.split(':')
  if (!parts.slice(1).every(part => NAME_PATTERN.test(part))) return undefined
  if (parts.length === 3 && (parts[0] === 'd' || parts[0] === 'g')) {
    return { kind: parts[0] === 'd' ? 'device' : 'gateway', typeId: parts[1], id: parts[2] }
  }
  if (parts.length === 2 && parts[0] === 'a') return { kind: 'application', appId: parts[1] }
  return undefined
}

/**
 * A claim certificate's CN, `c:<name>` (design.md, "Identity"): not an
 * identity. parseIdentityName refuses it, so everything that acts on
 * identities refuses a claim certificate by default; only enrollment reads
 * this, and only from a certificate the identity path has verified.
 */
export function parseClaimName (commonName: string): string | undefined {
  const parts = commonName.split(':')
  return parts.length === 2 && parts[0] === 'c' && NAME_PATTERN.test(parts[1]) ? parts[1] : undefined
}

/** The CN of claim `name`'s certificate. */
export function claimCommonName (name: string): string {
  return `c:${name}`
}
