import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type tls from 'node:tls'
import { createWebSocketStream, WebSocketServer } from 'ws'
import { shareState } from '../../access/index.js'
import { handOver } from './hand-over.js'
import { admitOrClose } from './listener-guard.js'
import type { TransportDeps } from './tls-listener.js'

/** Where MQTT over WebSocket is served, as by EMQX, HiveMQ and AWS IoT. */
export const MQTT_WS_PATH = '/mqtt'

/**
 * MQTT over (secure) WebSocket on an HTTP server whose sockets are TLS
 * sockets built by the TLS front: an upgrade to `/mqtt` is admitted by the
 * identity path before the WebSocket is accepted (a refused client gets no
 * 101), then its stream goes to aedes exactly as a TLS socket would, sharing
 * the socket's connection state. Framing is the `ws` package's; the
 * subprotocol is `mqtt` (MQTT 3.1.1 §6), `mqttv3.1` accepted for old clients.
 * An upgrade to any other path gets 404.
 */
export function serveMqttOverWebSocket (server: Server, deps: TransportDeps): void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.limits.maxPacketBytes + 5,
    handleProtocols: protocols => protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false
  })
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'https://mqgate').pathname !== MQTT_WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const tlsSocket = socket as tls.TLSSocket
    const admitted = admitOrClose(tlsSocket, deps.front, deps.log, deps.observer)
    if (admitted === undefined) return
    wss.handleUpgrade(request, socket, head, ws => {
      const stream = createWebSocketStream(ws) as Duplex & { remoteAddress?: string }
      stream.remoteAddress = tlsSocket.remoteAddress
      shareState(stream, tlsSocket)
      // A broken WebSocket ends its stream with an error; aedes closes the client on 'close'.
      stream.on('error', () => stream.destroy())
      handOver(stream, admitted.orgId, deps, 'wss')
    })
  })
}
