import type { TLSSocket } from 'node:tls'
import type { Client, PublishPacket } from 'aedes'
import type { Logger } from 'pino'
import type { IdentityResolver, Session } from '../../access/index.js'
import {
  csrPemFromEstBody, deviceTrustPemOf, enroll, isCertsError, renew, renewableRecordOf, splitPemCertificates,
  type IssuedCertRecord, type OrgRegistry
} from '../../certs/index.js'
import { isClaimSession, type ClaimSession } from './claim-session.js'
import { ENROLL_CHAIN_TOPIC, ENROLL_ERROR_TOPIC } from './enrollment-topics.js'

export interface MqttEnrollmentDeps {
  readonly registry: OrgRegistry
  readonly resolver: IdentityResolver
  readonly log: Logger
}

/** A PKCS#10 of a 16384-bit RSA key is well under this (as over EST). */
export const CSR_PAYLOAD_LIMIT = 64 * 1024

type Decision =
  | { readonly ok: true, readonly record: IssuedCertRecord, readonly chainPem: string, readonly replaces?: string }
  | { readonly ok: false, readonly code: string, readonly message: string }

/**
 * Enrollment and renewal over MQTT (issue 13, "MQTT-only devices"): the CSR a
 * client published is decided by the same transport-neutral core as EST's
 * (certs/enrollment: enroll() for a claim session, renew() for an identity's
 * own certificate), so the same rules, records, audit lines and codes apply,
 * and the answer is published to that client alone.
 */
export class MqttEnrollment {
  // One CSR at a time per client: a burst of them is answered in order.
  private readonly pending = new WeakMap<Client, Promise<void>>()

  constructor (private readonly deps: MqttEnrollmentDeps) {}

  /** Decides the CSR and hands the answer to aedes; never rejects (a refusal is an answer, not a closed connection). */
  async answer (client: Client, session: Session | ClaimSession, packet: PublishPacket): Promise<void> {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload ?? '')
    const qos = packet.qos === 0 ? 0 : 1
    const turn = (this.pending.get(client) ?? Promise.resolve())
      .then(async () => await this.decide(client, session, payload))
      .then(async decision => await this.deliver(client, session, decision, qos))
    const settled = turn.catch((err: Error) => session.log.error({ event: 'enroll.answer-failed', err }, 'could not answer an enrollment over MQTT'))
    this.pending.set(client, settled)
    await settled
  }

  private async decide (client: Client, session: Session | ClaimSession, payload: Buffer): Promise<Decision> {
    try {
      if (payload.length > CSR_PAYLOAD_LIMIT) return refusal('BROKER_ERR_ENROLL_CSR_TOO_LARGE', `a CSR is at most ${CSR_PAYLOAD_LIMIT} bytes`)
      // The certificate is checked again now: a claim or certificate revoked since CONNECT enrolls nothing.
      const trusted = isClaimSession(session)
        ? this.deps.resolver.claimant(client.conn as unknown as TLSSocket, { clientId: session.clientId }, 'live')
        : this.deps.resolver.recheck(session)
      if (!trusted.ok) return refusal(trusted.code, trusted.reason)
      const csrPem = csrPemFromEstBody(payload)
      return isClaimSession(session) ? await this.enrollClaimed(session, csrPem) : await this.renewOwn(session, csrPem)
    } catch (err) {
      if (isCertsError(err)) return refusal(err.code, err.message)
      session.log.error({ event: 'enroll.failed', err }, 'enrollment over MQTT failed')
      return refusal('BROKER_ERR_ENROLL_FAILED', 'the enrollment could not be completed; try again later')
    }
  }

  private async enrollClaimed (session: ClaimSession, csrPem: string): Promise<Decision> {
    const authorisation = { kind: 'claim' as const, claimName: session.claimName, fingerprint: session.fingerprint }
    const { record } = await enroll(this.deps.registry, session.orgId, csrPem, authorisation, `mqtt:c:${session.claimName}`)
    return { ok: true, record, chainPem: this.chainOf(session.orgId, record) }
  }

  private async renewOwn (session: Session, csrPem: string): Promise<Decision> {
    const current = await renewableRecordOf(this.deps.registry, session.orgId, session.fingerprint)
    const { record } = await renew(this.deps.registry, session.orgId, current, csrPem, `mqtt:${session.identity.commonName}`)
    return { ok: true, record, chainPem: this.chainOf(session.orgId, record), replaces: current.id }
  }

  /** The new certificate, then the CA certificates EST's cacerts gives the organisation's devices (RFC 7030 4.1.3). */
  private chainOf (orgId: string, record: IssuedCertRecord): string {
    const cas = splitPemCertificates(deviceTrustPemOf(this.deps.registry.require(orgId)))
    return [record.certPem, ...cas].map(pem => pem.trim() + '\n').join('')
  }

  private async deliver (client: Client, session: Session | ClaimSession, decision: Decision, qos: 0 | 1): Promise<void> {
    if (decision.ok) {
      const { record } = decision
      session.log.info({ event: decision.replaces === undefined ? 'mqtt.enrolled' : 'mqtt.reenrolled', commonName: record.commonName, certId: record.id, serial: record.serial, replaces: decision.replaces, expiresOn: record.expiresOn }, decision.replaces === undefined ? 'enrolled over MQTT' : 'certificate renewed over MQTT')
    } else {
      session.log.warn({ event: 'mqtt.enroll-refused', code: decision.code }, decision.message)
    }
    if (client.closed) return
    const topic = decision.ok ? ENROLL_CHAIN_TOPIC : ENROLL_ERROR_TOPIC
    const body = decision.ok ? decision.chainPem : JSON.stringify({ error: { code: decision.code, message: decision.message } })
    await new Promise<void>(resolve => {
      client.publish({ cmd: 'publish', topic, payload: Buffer.from(body, 'utf8'), qos, retain: false, dup: false } as unknown as PublishPacket, () => resolve())
    })
  }
}

function refusal (code: string, message: string): Decision {
  return { ok: false, code, message }
}
