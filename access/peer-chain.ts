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
 * Reads the presented chain once per socket, and before anything else asks
 * for the peer certificate: on Node 20.20, once `getPeerX509Certificate()` has
 * run, `getPeerCertificate(true)` returns the peer without its
 * `issuerCertificate` links, so the chain would read as empty and every
 * device signed by an intermediate would be refused. A kept-alive HTTPS
 * connection asks again per request, hence the memo.
 */
export function peerCertificatesOf (socket: tls.TLSSocket): PeerCertificates {
  const state = stateOf(socket)
  let certificates = state.peer
  if (certificates === undefined) {
    let raws = presentedChainDer(socket)
    const peer = socket.getPeerX509Certificate()
    if (peer !== undefined) raws = rememberedChain(peer.fingerprint256, raws, socket.isSessionReused())
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

/** The DER of each intermediate after the client's certificate (OpenSSL links them through `issuerCertificate`). */
function presentedChainDer (socket: tls.TLSSocket): Buffer[] {
  const raws: Buffer[] = []
  let node = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined
  const seen = new Set<string>()
  if (node?.fingerprint256 !== undefined) seen.add(node.fingerprint256)
  // A self-signed certificate links to itself: the loop stops there.
  while (node?.issuerCertificate !== undefined && node.issuerCertificate !== node && raws.length < MAX_PRESENTED_CHAIN) {
    node = node.issuerCertificate
    if (node.raw === undefined || seen.has(node.fingerprint256)) break
    seen.add(node.fingerprint256)
    raws.push(node.raw)
  }
  return raws
}
