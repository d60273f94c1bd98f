import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { guardListener } from './listener-guard.js'
import type { TlsListenerConfig, TransportDeps } from './tls-listener.js'
import { MQTT_WS_PATH, serveMqttOverWebSocket } from './websocket.js'

/**
 * MQTT over secure WebSocket, `wss://<org>.messaging.<domain>:<port>/mqtt`:
 * the TLS front's listener like the TLS port's, with the same connection
 * limits, identity, refusals and live revocation. Plain HTTP requests get a
 * JSON 426 naming the one thing served here.
 */
export async function listenMqttOverWss (cfg: TlsListenerConfig, deps: TransportDeps): Promise<{ server: https.Server, port: number }> {
  const server = https.createServer({ ...deps.front.serverOptions(), handshakeTimeout: cfg.handshakeTimeoutMs, noDelay: true }, (_request, response) => {
    response.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket', connection: 'close' })
    response.end(JSON.stringify({ error: { code: 'BROKER_ERR_PROTOCOL', message: `MQTT over WebSocket only: upgrade to ${MQTT_WS_PATH} with subprotocol mqtt` } }))
  })
  guardListener(server, deps)
  serveMqttOverWebSocket(server, deps)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(cfg.port, cfg.host, () => { server.off('error', reject); resolve() })
  })
  return { server, port: (server.address() as AddressInfo).port }
}
