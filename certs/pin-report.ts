import { activeServerCertOf, type OrgState } from './records.js'

/**
 * The pins a mobile app should carry for an organisation: the active server
 * certificate's, which a `--reuse-key` renewal keeps, and those of pending
 * CSRs' fresh keys, which a renewal without it will move to (ship one as a
 * backup pin before renewing).
 */
export function pinsOf (state: OrgState): { active: { server_cert_id: string, spki_pin: string, reuse_key_renewal_pin: string }, pending: Array<{ server_cert_id: string, spki_pin: string }> } {
  const active = activeServerCertOf(state)
  return {
    active: { server_cert_id: active.id, spki_pin: active.spkiPin, reuse_key_renewal_pin: active.spkiPin },
    pending: state.serverCerts.filter(s => s.status === 'pending' && s.spkiPin !== active.spkiPin).map(s => ({ server_cert_id: s.id, spki_pin: s.spkiPin }))
  }
}
