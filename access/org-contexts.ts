import tls from 'node:tls'
import { activeServerCertOf, trustedCasOf, TLS_HARDENING, type OrgRegistry, type OrgState } from '../certs/index.js'
import { stateOf } from './connection-state.js'
import { AccessError, allowed, refused, type Checked } from './errors.js'
import { orgOfServerName, serverNameOf } from './names.js'

export interface TlsPolicy {
  readonly domain: string
  /** Where a client lands that sends no SNI, or a name outside `<org>.messaging.<domain>`. */
  readonly defaultOrg?: string
  readonly minVersion: tls.SecureVersion
}

/**
 * One TLS secure context per organisation: its active server certificate and
 * the CAs it trusts for client certificates. The CA list of the context that
 * the SNI callback returns is the one that verifies the client certificate, so
 * an organisation's devices are verified against its own CAs only. Contexts are
 * built ahead, from the registry in memory, and rebuilt when it changes.
 */
export class OrgContexts {
  private readonly contexts = new Map<string, tls.SecureContext>()

  constructor (private readonly registry: OrgRegistry, private readonly policy: TlsPolicy) {
    for (const state of registry.list()) this.rebuild(state.org.id)
  }

  /** Builds (or drops) the context of one organisation after a registry change. */
  rebuild (orgId: string): void {
    const state = this.registry.get(orgId)
    if (state === undefined) this.contexts.delete(orgId)
    else this.contexts.set(orgId, tls.createSecureContext(this.contextOptions(state)))
  }

  /** The organisation a server name selects (design.md, "Identity": SNI). */
  orgForServername (servername: string | undefined | false): Checked<string> {
    const label = orgOfServerName(typeof servername === 'string' ? servername : undefined, this.policy.domain)
    if (label !== undefined) {
      return this.contexts.has(label) ? allowed(label) : refused('BROKER_ERR_TLS_UNKNOWN_ORG', `no organisation "${label}"`)
    }
    const fallback = this.policy.defaultOrg
    if (fallback !== undefined && this.contexts.has(fallback)) return allowed(fallback)
    return refused('BROKER_ERR_TLS_NO_SNI', `connect with SNI ${serverNameOf('<org>', this.policy.domain)}`)
  }

  contextFor (orgId: string): tls.SecureContext | undefined {
    return this.contexts.get(orgId)
  }

  /** Options for the server's own context, used when the client sends no SNI: the default organisation's. */
  defaultContextOptions (): tls.SecureContextOptions | undefined {
    const orgId = this.policy.defaultOrg
    const state = orgId === undefined ? undefined : this.registry.get(orgId)
    return state === undefined ? undefined : this.contextOptions(state)
  }

  /** The SNI callback: `this` is the TLS socket, whose connection state remembers the organisation. */
  readonly sniCallback = (socket: tls.TLSSocket | undefined, servername: string, done: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    const org = this.orgForServername(servername)
    if (!org.ok) return done(new AccessError(org.code, org.reason))
    if (socket !== undefined) stateOf(socket).sniOrg = org.value
    done(null, this.contexts.get(org.value))
  }

  private contextOptions (state: OrgState): tls.SecureContextOptions {
    const server = activeServerCertOf(state)
    return {
      key: server.keyPem,
      cert: server.certPem + server.chainPem,
      ca: trustedCasOf(state).map(ca => ca.certPem),
      // Every active CA is a trust anchor, an uploaded intermediate too (EMQX's partial_chain):
      // OpenSSL otherwise insists on reaching a self-signed root. Node >= 20.18.
      allowPartialTrustChain: true,
      minVersion: this.policy.minVersion,
      ...TLS_HARDENING
    }
  }
}
