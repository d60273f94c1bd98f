import type { X509Certificate } from 'node:crypto'
import type { Logger } from 'pino'
import type { CertificateFacts } from '../certs/index.js'
import type { AccessErrorCode } from './errors.js'
import type { Identity } from './identity.js'

/** What the TLS front established about a connection, before any MQTT packet or HTTP request. */
export interface Admitted {
  /**
   * The organisation the SNI name chose; undefined for a TLS 1.2 session
   * resumed from a ticket, where OpenSSL keeps no server name (and Node calls
   * no SNI callback): the clientId or Host names the organisation then, and
   * the certificate must be trusted there like any other (resolve.ts).
   */
  readonly orgId: string | undefined
  readonly servername: string | undefined
  readonly remoteAddress: string | undefined
  readonly certificate: CertificateFacts
  /** Intermediates the client sent after its certificate, decoded on first use. */
  readonly presentedChain: () => readonly X509Certificate[]
}

/** Who is on a connection, in which organisation: the answer every transport acts on. */
export interface Principal {
  readonly orgId: string
  readonly identity: Identity
  readonly certificate: CertificateFacts
  readonly fingerprint: string
  readonly presentedChain: () => readonly X509Certificate[]
}

/**
 * A claim certificate's holder (`c:<name>`), trusted in its organisation:
 * not a Principal, so nothing that acts for an identity can take it; only
 * enrollment does (IdentityResolver.claimant).
 */
export interface Claimant {
  readonly orgId: string
  readonly claimName: string
  readonly fingerprint: string
}

/** An authenticated MQTT session: a principal under its clientId. */
export interface Session extends Principal {
  readonly clientId: string
  readonly log: Logger
  readonly connectedAt: number
}

/** Where on the identity path a refusal was decided. */
export type Stage = 'tls' | 'connect' | 'request' | 'live'

/** Why the identity path said no: the code every transport logs and answers with. */
export interface Refusal {
  readonly code: AccessErrorCode
  readonly reason: string
  readonly stage: Stage
  readonly orgId?: string
  readonly fingerprint?: string
  /** OpenSSL's own verdict, when it is the reason. */
  readonly verifyError?: string
}

export type Resolved<T> = { readonly ok: true, readonly value: T } | ({ readonly ok: false } & Refusal)
