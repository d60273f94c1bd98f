import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { addCa, FileRegistryStore, inspectCertificate, issueClientCert, OrgRegistry, revokeCert, setCaEnabled } from '../../certs/index.js'
import { IdentityResolver, OrgContexts, serverNameOf, type AccessErrorCode, type Admitted, type OrgHint, type Stage, type TrustPolicy } from '../../access/index.js'
import { createLogSink } from '../support/log-sink.js'
import { DAYS, mintCa, mintClient, type TestCert } from '../support/pki.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Issue 12: the resolver's answers, one row per case, over certificates minted
 * here and a real registry, with no socket: a transport's only part is the
 * `Admitted` value its TLS front would have built, written here by hand.
 */

/** The certificates the rows name, minted in `before` (a row is data, read after). */
type CertName = 'device' | 'gateway' | 'app' | 'viaIntermediate' | 'intermediate' | 'expired' | 'notYetValid' | 'revoked' |
  'disabledCa' | 'stranger' | 'caAsClient' | 'serverAuthOnly' | 'repeatedCn' | 'malformedCn' | 'noName' | 'sanEmail'

interface Row {
  readonly what: string
  readonly cert: CertName
  readonly chain?: readonly CertName[]
  /** The organisation SNI chose; null for a resumed session that kept no server name. */
  readonly sni?: string | null
  readonly hint: OrgHint
  readonly stage?: Stage
  readonly policy?: TrustPolicy
  readonly expect: { readonly orgId: string, readonly kind: string } | { readonly code: AccessErrorCode, readonly orgId?: string }
}

const UNTRUSTED = 'BROKER_ERR_CERT_UNTRUSTED'
const MISMATCH = 'BROKER_ERR_CLIENTID_MISMATCH'
const acme = (clientId: string): OrgHint => ({ clientId: `d:acme:${clientId}` })

const rows: readonly Row[] = [
  { what: 'a device, its own clientId', cert: 'device', hint: acme('sensor:s1'), expect: { orgId: 'acme', kind: 'device' } },
  { what: 'a gateway, its own clientId', cert: 'gateway', hint: { clientId: 'g:acme:hub:g1' }, expect: { orgId: 'acme', kind: 'gateway' } },
  { what: 'an application, its own clientId', cert: 'app', hint: { clientId: 'a:acme:dash' }, expect: { orgId: 'acme', kind: 'application' } },
  { what: 'an application instance, `:<n>` suffix', cert: 'app', hint: { clientId: 'a:acme:dash:2' }, expect: { orgId: 'acme', kind: 'application' } },
  { what: 'an application, a suffix outside the name pattern', cert: 'app', hint: { clientId: 'a:acme:dash:2/x' }, expect: { code: MISMATCH, orgId: 'acme' } },
  { what: 'a device with a suffix (applications only)', cert: 'device', hint: acme('sensor:s1:2'), expect: { code: MISMATCH, orgId: 'acme' } },
  { what: 'a device, another device\'s clientId', cert: 'device', hint: acme('sensor:s2'), expect: { code: MISMATCH, orgId: 'acme' } },
  { what: 'a device, its clientId under another org than SNI chose', cert: 'device', hint: { clientId: 'd:globex:sensor:s1' }, expect: { code: MISMATCH, orgId: 'acme' } },
  { what: 'a device over HTTPS, SNI org and no clientId', cert: 'device', hint: { host: 'anything' }, stage: 'request', expect: { orgId: 'acme', kind: 'device' } },
  { what: 'resumed: the clientId names the org', cert: 'device', sni: null, hint: acme('sensor:s1'), expect: { orgId: 'acme', kind: 'device' } },
  { what: 'resumed: the clientId names an org that does not trust the CA', cert: 'device', sni: null, hint: { clientId: 'd:globex:sensor:s1' }, expect: { code: UNTRUSTED, orgId: 'globex' } },
  { what: 'resumed: the clientId names an org that does not exist', cert: 'device', sni: null, hint: { clientId: 'd:nobody:sensor:s1' }, expect: { code: UNTRUSTED, orgId: 'nobody' } },
  { what: 'resumed: the clientId names no org', cert: 'device', sni: null, hint: { clientId: 'sensor-s1' }, expect: { code: MISMATCH } },
  { what: 'resumed: Host with a port names the org', cert: 'device', sni: null, hint: { host: 'acme.messaging.example.test:8443' }, stage: 'request', expect: { orgId: 'acme', kind: 'device' } },
  { what: 'resumed: Host in capitals', cert: 'device', sni: null, hint: { host: 'ACME.Messaging.Example.TEST' }, stage: 'request', expect: { orgId: 'acme', kind: 'device' } },
  { what: 'resumed: Host names an unknown org', cert: 'device', sni: null, hint: { host: 'nobody.messaging.example.test:8443' }, stage: 'request', expect: { code: 'BROKER_ERR_TLS_UNKNOWN_ORG' } },
  { what: 'resumed: Host under another domain, no default org', cert: 'device', sni: null, hint: { host: 'acme.example.org' }, stage: 'request', expect: { code: 'BROKER_ERR_TLS_NO_SNI' } },
  { what: 'a device of acme under globex\'s SNI', cert: 'device', sni: 'globex', hint: { clientId: 'd:globex:sensor:s1' }, expect: { code: UNTRUSTED, orgId: 'globex' } },
  { what: 'expired', cert: 'expired', hint: acme('sensor:old'), expect: { code: 'BROKER_ERR_CERT_EXPIRED', orgId: 'acme' } },
  { what: 'not yet valid', cert: 'notYetValid', hint: acme('sensor:early'), expect: { code: 'BROKER_ERR_CERT_NOT_YET_VALID', orgId: 'acme' } },
  { what: 'revoked by an operator', cert: 'revoked', hint: acme('sensor:lost'), stage: 'request', expect: { code: 'BROKER_ERR_CERT_REVOKED', orgId: 'acme' } },
  { what: 'signed by a disabled CA', cert: 'disabledCa', hint: acme('sensor:s1'), expect: { code: UNTRUSTED, orgId: 'acme' } },
  { what: 'signed by a CA nobody uploaded', cert: 'stranger', hint: acme('sensor:s1'), expect: { code: UNTRUSTED, orgId: 'acme' } },
  { what: 'through an intermediate it presents', cert: 'viaIntermediate', chain: ['intermediate'], hint: acme('sensor:deep'), expect: { orgId: 'acme', kind: 'device' } },
  { what: 'through an intermediate it does not present', cert: 'viaIntermediate', hint: acme('sensor:deep'), expect: { code: UNTRUSTED, orgId: 'acme' } },
  { what: 'through an intermediate, deeper than the policy', cert: 'viaIntermediate', chain: ['intermediate'], policy: { maxChainDepth: 1 }, hint: acme('sensor:deep'), expect: { code: 'BROKER_ERR_CHAIN_TOO_DEEP', orgId: 'acme' } },
  { what: 'a CA certificate as client', cert: 'caAsClient', hint: acme('sensor:ca'), expect: { code: 'BROKER_ERR_CERT_IS_CA', orgId: 'acme' } },
  { what: 'extendedKeyUsage without clientAuth', cert: 'serverAuthOnly', hint: acme('sensor:srv'), expect: { code: 'BROKER_ERR_CERT_NO_CLIENT_AUTH', orgId: 'acme' } },
  { what: 'a repeated CN', cert: 'repeatedCn', hint: acme('sensor:s1'), expect: { code: 'BROKER_ERR_CN_REPEATED', orgId: 'acme' } },
  { what: 'a malformed CN', cert: 'malformedCn', hint: acme('sensor:s1'), expect: { code: 'BROKER_ERR_CN_MALFORMED', orgId: 'acme' } },
  { what: 'no CN, no SAN email', cert: 'noName', hint: acme('sensor:s1'), expect: { code: 'BROKER_ERR_CN_MISSING', orgId: 'acme' } },
  { what: 'no CN, the identity in a SAN email', cert: 'sanEmail', hint: acme('sensor:mail'), expect: { orgId: 'acme', kind: 'device' } }
]

describe('access: IdentityResolver over minted certificates, no sockets', () => {
  const pems = new Map<CertName, string>()
  let temp: { dir: string, remove: () => Promise<void> }
  let registry: OrgRegistry
  let contexts: OrgContexts

  before(async () => {
    temp = await makeTempDir('resolver')
    registry = await OrgRegistry.open(new FileRegistryStore(temp.dir, 50), { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: createLogSink().logger })
    await registry.createOrg('acme')
    await registry.createOrg('globex')
    const root = mintCa('Acme Root')
    const intermediate = mintCa('Acme Intermediate', { issuer: root })
    const retired = mintCa('Acme Retired')
    await addCa(registry, 'acme', root.certPem, '', 'test')
    const retiredRecord = await addCa(registry, 'acme', retired.certPem, '', 'test')
    await setCaEnabled(registry, 'acme', retiredRecord.id, false, 'test')
    const revoked = await issueClientCert(registry, 'acme', { commonName: 'd:sensor:lost' }, 'test')
    await revokeCert(registry, 'acme', revoked.record.fingerprint, 'test')
    const minted: Record<Exclude<CertName, 'revoked'>, TestCert> = {
      device: mintClient(root, 'd:sensor:s1'),
      gateway: mintClient(root, 'g:hub:g1'),
      app: mintClient(root, 'a:dash'),
      intermediate,
      viaIntermediate: mintClient(intermediate, 'd:sensor:deep'),
      expired: mintClient(root, 'd:sensor:old', { notBefore: DAYS(-30), notAfter: DAYS(-1) }),
      notYetValid: mintClient(root, 'd:sensor:early', { notBefore: DAYS(1), notAfter: DAYS(30) }),
      disabledCa: mintClient(retired, 'd:sensor:s1'),
      stranger: mintClient(mintCa('Stranger'), 'd:sensor:s1'),
      caAsClient: mintClient(root, 'd:sensor:ca', { isCA: true, keyUsage: 'ca' }),
      serverAuthOnly: mintClient(root, 'd:sensor:srv', { extKeyUsage: 'serverAuth' }),
      repeatedCn: mintClient(root, undefined, { commonNames: ['d:sensor:s1', 'd:sensor:s2'] }),
      malformedCn: mintClient(root, 'sensor s1'),
      noName: mintClient(root, undefined),
      sanEmail: mintClient(root, undefined, { sanEmails: ['d:sensor:mail'] })
    }
    for (const [name, cert] of Object.entries(minted)) pems.set(name as CertName, cert.certPem)
    pems.set('revoked', revoked.record.certPem)
    contexts = new OrgContexts(registry, { domain: 'example.test', minVersion: 'TLSv1.2' })
  })
  after(async () => {
    await registry.close()
    await temp.remove()
  })

  /** What a TLS front would have kept after the handshake. */
  function admitted (cert: CertName, sni: string | null, chain: readonly CertName[] = []): Admitted {
    const presented = chain.map(name => new X509Certificate(pems.get(name) as string))
    return { orgId: sni ?? undefined, servername: sni === null ? undefined : serverNameOf(sni, 'example.test'), remoteAddress: '192.0.2.1', certificate: inspectCertificate(pems.get(cert) as string), presentedChain: () => presented }
  }

  for (const row of rows) {
    it(`${'code' in row.expect ? `refuses (${row.expect.code})` : 'admits'}: ${row.what}`, () => {
      const resolver = new IdentityResolver(registry, contexts, row.policy)
      const input = admitted(row.cert, row.sni === undefined ? 'acme' : row.sni, row.chain)
      const stage = row.stage ?? 'connect'
      const result = resolver.principal(input, row.hint, stage)
      const fingerprint = input.certificate.fingerprint
      if ('code' in row.expect) {
        assert.equal(result.ok, false, 'refused')
        const { code, orgId, stage: at, fingerprint: seen } = result as Extract<typeof result, { ok: false }>
        assert.deepEqual({ code, orgId, stage: at, fingerprint: seen }, { code: row.expect.code, orgId: row.expect.orgId, stage, fingerprint })
      } else {
        assert.ok(result.ok, `admitted, not ${JSON.stringify(result)}`)
        const { orgId, identity, fingerprint: seen } = result.value
        assert.deepEqual({ orgId, kind: identity.kind, fingerprint: seen }, { orgId: row.expect.orgId, kind: row.expect.kind, fingerprint })
      }
    })
  }

  it('recheck: a live device turns revoked (stage live) once an operator revokes it', async () => {
    const issued = await issueClientCert(registry, 'acme', { commonName: 'd:sensor:later' }, 'test')
    const resolver = new IdentityResolver(registry, contexts)
    const input: Admitted = { orgId: 'acme', servername: 'acme.messaging.example.test', remoteAddress: '192.0.2.1', certificate: inspectCertificate(issued.record.certPem), presentedChain: () => [] }
    const resolved = resolver.principal(input, acme('sensor:later'), 'connect')
    assert.ok(resolved.ok, JSON.stringify(resolved))
    assert.deepEqual(resolver.recheck(resolved.value), { ok: true, value: true })
    await revokeCert(registry, 'acme', issued.record.fingerprint, 'test')
    const { ok, code, stage, orgId, fingerprint } = resolver.recheck(resolved.value) as Extract<ReturnType<IdentityResolver['recheck']>, { ok: false }>
    assert.deepEqual({ ok, code, stage, orgId, fingerprint }, { ok: false, code: 'BROKER_ERR_CERT_REVOKED', stage: 'live', orgId: 'acme', fingerprint: issued.record.fingerprint })
  })

  it('recheck: a live device turns expired when its notAfter passes', () => {
    const resolver = new IdentityResolver(registry, contexts)
    const resolved = resolver.principal(admitted('device', 'acme'), acme('sensor:s1'), 'connect')
    assert.ok(resolved.ok)
    assert.equal(resolver.recheck(resolved.value).ok, true)
    assert.deepEqual(pick(resolver.recheck(resolved.value, DAYS(60))), { code: 'BROKER_ERR_CERT_EXPIRED', stage: 'live' })
  })
})

function pick (result: ReturnType<IdentityResolver['recheck']>): { code?: string, stage?: string } {
  return result.ok ? {} : { code: result.code, stage: result.stage }
}
