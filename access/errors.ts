/**
 * Why a connection or a request is refused on the identity path, whatever the
 * transport (MQTT over TLS, secure WebSocket, HTTPS, the shared port). Each
 * transport logs the code and attaches its own protocol answer at its edge:
 * a closed connection, CONNACK 2 or 5, an HTTP 403. The strings keep their
 * first names (BROKER_ERR_*): operators' log queries and alerts use them.
 *
 * TLS handshake (the connection is closed without an answer)
 * BROKER_ERR_TLS_NO_SNI            no SNI (or a name outside <org>.messaging.<domain>) and no default organisation
 * BROKER_ERR_TLS_UNKNOWN_ORG       SNI names an organisation that does not exist
 * BROKER_ERR_TLS_HANDSHAKE         any other handshake failure
 * BROKER_ERR_TLS_HANDSHAKE_TIMEOUT the TLS handshake did not finish in time
 *
 * Client certificate: checked right after the handshake, and again at every
 * MQTT CONNECT and every HTTP request, since a resumed TLS session skips the
 * handshake's check
 * BROKER_ERR_NO_CLIENT_CERT        no client certificate was presented
 * BROKER_ERR_CERT_UNTRUSTED        its chain does not lead to an active CA of the organisation
 * BROKER_ERR_CHAIN_TOO_DEEP        it leads there through more certificates than MQGATE_MAX_CHAIN_DEPTH allows
 * BROKER_ERR_CRL_EXPIRED           a CA on its path has CRL policy `closed` and a loaded CRL past its nextUpdate
 * BROKER_ERR_CRL_UNAVAILABLE       a CA on its path has CRL policy `closed` and a CRL source (`ca crl-source`) that has not yielded a CRL yet
 * BROKER_ERR_CERT_EXPIRED          notAfter has passed
 * BROKER_ERR_CERT_NOT_YET_VALID    notBefore is still ahead
 * BROKER_ERR_CERT_PURPOSE          the TLS stack refused its key usage for client authentication
 * BROKER_ERR_CERT_REVOKED          revoked by an operator (`cert revoke`), listed in its CA's CRL, or
 *                                  reported revoked by its CA's OCSP responder (`ca ocsp on`);
 *                                  a live session is closed when this becomes true (not re-polled by OCSP)
 * BROKER_ERR_OCSP_UNKNOWN          `ca ocsp on`: the CA's OCSP responder answers `unknown` for it (RFC 6960 2.2)
 * BROKER_ERR_OCSP_UNAVAILABLE      `ca ocsp on`, CRL policy `closed`: no usable OCSP answer (no responder URL in
 *                                  the certificate, unreachable, timeout, oversized, malformed, bad signature, stale)
 * BROKER_ERR_CERT_IS_CA            a CA certificate presented as a client certificate
 * BROKER_ERR_CERT_NO_CLIENT_AUTH   extendedKeyUsage present without clientAuth
 * BROKER_ERR_CERT_UNPARSABLE       the presented certificate could not be decoded
 * BROKER_ERR_CN_MISSING            neither a CN nor a SAN email names the identity
 * BROKER_ERR_CN_REPEATED           several CNs (or several SAN emails and no CN)
 * BROKER_ERR_CN_MULTI_VALUED_RDN   a subject RDN holding several attributes
 * BROKER_ERR_CN_MALFORMED          the CN is not d:<type>:<id>, g:<type>:<id> or a:<app> with names of [A-Za-z0-9._-]{1,64}
 * BROKER_ERR_CLAIM_ONLY_ENROLLS    a claim certificate (c:<name>) used for anything but enrollment (CONNACK 5, HTTP 403)
 * BROKER_ERR_NOT_A_CLAIM           enrollment with a client certificate that is not a claim certificate (HTTP 403)
 * BROKER_ERR_NO_IDENTITY           the connection did not come through the TLS front (never expected)
 * BROKER_ERR_CLIENTID_MISMATCH     the MQTT clientId is not the one the certificate's identity owns (CONNACK 2)
 *
 * Connection limits, before any TLS work (the connection is closed)
 * BROKER_ERR_LIMIT_CONNECTIONS_PER_IP  too many open connections from one address
 * BROKER_ERR_LIMIT_CONNECTIONS_TOTAL   too many open connections
 * BROKER_ERR_LIMIT_CONNECTION_RATE     new connections from one address too fast
 */
export type AccessErrorCode =
  | 'BROKER_ERR_TLS_NO_SNI'
  | 'BROKER_ERR_TLS_UNKNOWN_ORG'
  | 'BROKER_ERR_TLS_HANDSHAKE'
  | 'BROKER_ERR_TLS_HANDSHAKE_TIMEOUT'
  | 'BROKER_ERR_NO_CLIENT_CERT'
  | 'BROKER_ERR_CERT_UNTRUSTED'
  | 'BROKER_ERR_CHAIN_TOO_DEEP'
  | 'BROKER_ERR_CRL_EXPIRED'
  | 'BROKER_ERR_CRL_UNAVAILABLE'
  | 'BROKER_ERR_CERT_EXPIRED'
  | 'BROKER_ERR_CERT_NOT_YET_VALID'
  | 'BROKER_ERR_CERT_PURPOSE'
  | 'BROKER_ERR_CERT_REVOKED'
  | 'BROKER_ERR_OCSP_UNKNOWN'
  | 'BROKER_ERR_OCSP_UNAVAILABLE'
  | 'BROKER_ERR_CERT_IS_CA'
  | 'BROKER_ERR_CERT_NO_CLIENT_AUTH'
  | 'BROKER_ERR_CERT_UNPARSABLE'
  | 'BROKER_ERR_CN_MISSING'
  | 'BROKER_ERR_CN_REPEATED'
  | 'BROKER_ERR_CN_MULTI_VALUED_RDN'
  | 'BROKER_ERR_CN_MALFORMED'
  | 'BROKER_ERR_CLAIM_ONLY_ENROLLS'
  | 'BROKER_ERR_NOT_A_CLAIM'
  | 'BROKER_ERR_NO_IDENTITY'
  | 'BROKER_ERR_CLIENTID_MISMATCH'
  | 'BROKER_ERR_LIMIT_CONNECTIONS_PER_IP'
  | 'BROKER_ERR_LIMIT_CONNECTIONS_TOTAL'
  | 'BROKER_ERR_LIMIT_CONNECTION_RATE'

/** A refusal raised where only an Error can travel (the SNI callback, an HTTP route), with what the log needs to name the certificate. */
export class AccessError extends Error {
  override readonly name = 'AccessError'

  constructor (readonly code: AccessErrorCode, message: string, readonly details: { readonly stage?: string, readonly orgId?: string, readonly fingerprint?: string, readonly verifyError?: string } = {}) {
    super(message)
  }
}

/** The outcome of a pure check: a value, or the code and reason of a refusal. */
export type Checked<T, C extends string = AccessErrorCode> =
  | { readonly ok: true, readonly value: T }
  | { readonly ok: false, readonly code: C, readonly reason: string }

export function allowed<T> (value: T): { readonly ok: true, readonly value: T } {
  return { ok: true, value }
}

export function refused<C extends string = AccessErrorCode> (code: C, reason: string): { readonly ok: false, readonly code: C, readonly reason: string } {
  return { ok: false, code, reason }
}
