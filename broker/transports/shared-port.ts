import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import { handOver } from './hand-over.js'
import { admitOrClose, guardListener } from './listener-guard.js'
import type { TlsListenerConfig, TransportDeps } from './tls-listener.js'
import { serveMqttOverWebSocket } from './websocket.js'

/**
 * ALPN names that ask for MQTT: the IANA-registered `mqtt`, and AWS IoT's
 * `x-amzn-mqtt-ca`, which devices built for AWS offer on port 443.
 */
export const MQTT_ALPN: readonly string[] = Object.freeze(['mqtt', 'x-amzn-mqtt-ca'])

/**
 * One TLS port for everything (MQGATE_TLS_PORT, 443 behind firewalls that
 * allow nothing else): a client that offers ALPN `mqtt` (or AWS's name)
 * speaks MQTT, admitted and handed to aedes as on the TLS port; any other
 * (`http/1.1`, or no ALPN) speaks HTTPS to `http`, the temps API's server,
 * where `/mqtt` upgrades to MQTT over WebSocket. One TLS front, one set of
 * connection limits, one identity path for all three.
 */
export async function listenSharedPort (cfg: TlsListenerConfig & { readonly idleTimeoutMs: number }, deps: TransportDeps, http: Server): Promise<{ server: tls.Server, port: number }> {
  const server = tls.createServer({ ...deps.front.serverOptions(), handshakeTimeout: cfg.handshakeTimeoutMs, ALPNProtocols: [...MQTT_ALPN, 'http/1.1'], noDelay: true })
  guardListener(server, deps)
  serveMqttOverWebSocket(http, deps)
  // `http` never listens, so Node never starts its headers/request timers for it
  // (they start on 'listening'): without an idle timeout, a client that
  // completes the handshake and sends nothing would hold its connection, and
  // its place under the connection limits, for ever.
  http.setTimeout(cfg.idleTimeoutMs)
  server.on('secureConnection', socket => {
    if (typeof socket.alpnProtocol === 'string' && MQTT_ALPN.includes(socket.alpnProtocol)) {
      const admitted = admitOrClose(socket, deps.front, deps.log, deps.observer)
      if (admitted !== undefined) handOver(socket, admitted.orgId, deps, 'shared-port')
      return
    }
    // HTTPS decides per request (some paths, the CRLs, need no certificate).
    http.emit('connection', socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(cfg.port, cfg.host, () => { server.off('error', reject); resolve() })
  })
  return { server, port: (server.address() as AddressInfo).port }
}
