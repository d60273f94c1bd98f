import http from 'node:http'
import { listenSharedPort } from '../../broker/index.js'
import { createTempsApp, startPkiHttp, startTempsApi, type TempsApiServerConfig } from '../../bridge/index.js'
import type { GatewayConfig } from '../../config/gateway-config.js'
import type { PartContext } from './context.js'

/** The HTTP parts: the temps API (HTTPS), the PKI HTTP port (CRLs, OCSP) and the shared TLS port. */

export async function tempsApiPart ({ cfg, log, registry, backend, front, ports, onClose }: PartContext): Promise<void> {
  const api = await startTempsApi(tempsApiConfigOf(cfg), { registry, store: backend.store, log, front: front() })
  ports.api = api.port
  onClose(async () => await api.close())
}

/**
 * MQGATE_PKI_HTTP_PORT: CRLs and OCSP over plain HTTP, beside the temps API
 * (the processes that serve HTTP to relying parties; `mqgate broker` does not).
 */
export async function pkiHttpPart ({ cfg, log, registry, ocsp, ports, onClose }: PartContext): Promise<void> {
  if (cfg.pkiHttp.port === 0) return
  const pki = await startPkiHttp(cfg.pkiHttp, { registry, responder: ocsp(), log })
  ports.pki = pki.port
  onClose(async () => await pki.close())
}

function tempsApiConfigOf (cfg: Readonly<GatewayConfig>): TempsApiServerConfig {
  return { ...cfg.api, domain: cfg.broker.domain, defaultOrg: cfg.broker.defaultOrg, minTlsVersion: cfg.broker.minTlsVersion, maxChainDepth: cfg.broker.maxChainDepth }
}

/**
 * MQGATE_TLS_PORT: the broker and the temps API on one more port, told apart
 * by ALPN (broker/transports/shared-port.ts); the temps API's routes run
 * there on a second app over the same store, fed the TLS sockets.
 */
export async function sharedPortPart ({ cfg, log, registry, backend, front, mqtt, ports, onClose }: PartContext): Promise<void> {
  if (cfg.tlsPort === 0 || mqtt === undefined) return
  const app = await createTempsApp(tempsApiConfigOf(cfg), { registry, store: backend.store, log, front: front() }, handler => http.createServer(handler))
  await app.ready()
  const shared = await listenSharedPort({ port: cfg.tlsPort, host: cfg.broker.host, handshakeTimeoutMs: cfg.broker.limits.handshakeTimeoutMs, idleTimeoutMs: cfg.broker.limits.connectTimeoutMs }, mqtt, app.server)
  ports.tls = shared.port
  log.info({ event: 'shared-port.listening', port: shared.port }, 'MQTT, HTTPS and MQTT over WebSocket on one TLS port (ALPN)')
  onClose(async () => {
    // Stop accepting only: the broker's close (a later step) lets publishes in
    // flight finish, then ends its clients, this port's among them; waiting
    // for them here would wait for ever.
    shared.server.close()
    await app.close()
  })
}
