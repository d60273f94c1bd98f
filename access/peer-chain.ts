import { X509Certificate } from 'node:crypto'
import type tls from 'node:tls'
import { LRUCache } from 'lru-cache'
import { stateOf } from './connection-state.js'

/** The certificates a client presented: its own, and the intermediates it sent after it. */
export interface PeerCertificates {
  readonly peer: X509Certificate | undefined
  /** The intermediates, in the order the client sent them, decoded on first use. */
  readonly chain: () => readonly X509Certificate[]
}

/**
 * The most intermediates read from one client. Well above any sane chain
 * (MQGATE_MAX_CHAIN_DEPTH is at most 16): a longer one is refused as too deep
 * rather than decoded.
 */
export const MAX_PRESENTED_CHAIN = 20

/**
 * Reads the presented chain once per socket, from the peer certificate's
 * `issuerCertificate` links (on a server socket, Node links the peer to the
 * intermediates the client sent, in the order it sent them) rather than from
 * `getPeerCertificate(true)`, whose object form of every certificate (names,
 * extensions, three fingerprints) cost about a twentieth of a full connect
 * (issue 15). A kept-alive HTTPS connection asks again per request, hence the
 * memo.
 */
export function peerCertificatesOf (socket: tls.TLSSocket): PeerCertificates {
  const state = stateOf(socket)
  let certificates = state.peer
  if (certificates === undefined) {
    const peer = socket.getPeerX509Certificate()
    const raws = peer === undefined ? [] : rememberedChain(peer.fingerprint256, presentedChainDer(peer), socket.isSessionReused())
    let chain: X509Certificate[] | undefined
    certificates = { peer, chain: () => (chain ??= raws.map(der => new X509Certificate(der))) }
    state.peer = certificates
  }
  return certificates
}

// The intermediates each certificate came with at its last full handshake.
const chainsByLeaf = new LRUCache<string, Buffer[]>({ max: 10_000 })

/**
 * A resumed TLS session carries the client's certificate but not the
 * intermediates it sent (OpenSSL keeps no peer chain in a ticket): the chain
 * of that certificate's last full handshake stands in. Safe to share across
 * connections and organisations: intermediates are untrusted input, each one
 * checked by signature up to an anchor of the organisation at every CONNECT.
 */
function rememberedChain (fingerprint: string, raws: Buffer[], resumed: boolean): Buffer[] {
  if (raws.length > 0) {
    chainsByLeaf.set(fingerprint, raws)
    return raws
  }
  return resumed ? chainsByLeaf.get(fingerprint) ?? raws : raws
}

/** The DER of each intermediate the client sent after its certificate. */
function presentedChainDer (peer: X509Certificate): Buffer[] {
  const raws: Buffer[] = []
  const seen = new Set<string>([peer.fingerprint256])
  // A self-signed certificate links to itself: the loop stops there.
  for (let node = peer.issuerCertificate; node !== undefined && raws.length < MAX_PRESENTED_CHAIN; node = node.issuerCertificate) {
    if (seen.has(node.fingerprint256)) break
    seen.add(node.fingerprint256)
    raws.push(node.raw)
  }
  return raws
}
