import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import type { TlsFront } from '../../access/index.js'
import { admitOrClose, guardListener, type ListenerGuardDeps } from './listener-guard.js'
import { handOver, type HandOverDeps } from './hand-over.js'

export interface TlsListenerConfig {
  readonly port: number
  readonly host?: string
  readonly handshakeTimeoutMs: number
}

export type TransportDeps = ListenerGuardDeps & HandOverDeps & { readonly front: TlsFront }

/**
 * MQTT over TLS (8883): the TLS front's listener, each admitted socket handed
 * to aedes as it is. Nagle's algorithm off (`noDelay`), as Mosquitto's
 * `set_tcp_nodelay` and EMQX do: the broker's replies are small writes that
 * follow one another (TLS 1.3 session tickets, then CONNACK; PUBACKs), and
 * with Nagle on, one waits for the client's delayed ACK, 40 ms on Linux,
 * which capped a client connecting in a loop at 20 full handshakes a second.
 */
export async function listenMqttOverTls (cfg: TlsListenerConfig, deps: TransportDeps): Promise<{ server: tls.Server, port: number }> {
  const server = tls.createServer({ ...deps.front.serverOptions(), handshakeTimeout: cfg.handshakeTimeoutMs, noDelay: true })
  guardListener(server, deps)
  server.on('secureConnection', socket => {
    const admitted = admitOrClose(socket, deps.front, deps.log, deps.observer)
    if (admitted !== undefined) handOver(socket, admitted.orgId, deps, 'tls')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(cfg.port, cfg.host, () => { server.off('error', reject); resolve() })
  })
  return { server, port: (server.address() as AddressInfo).port }
}
