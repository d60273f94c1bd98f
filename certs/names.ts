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

/** The file-name form of a CN used for bootstrap and `--out` files: `d:sensor:x` → `d_sensor_x`. */
export function fileNameForCommonName (commonName: string): string {
  return commonName.replaceAll(':', '_')
}
