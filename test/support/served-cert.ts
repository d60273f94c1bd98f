import { createHash } from 'node:crypto'
import tls from 'node:tls'

/** The SHA-256 fingerprint (hex) of the server certificate a plain TLS handshake is answered with; SNI as given, none when undefined. */
export async function servedFingerprint (port: number, servername: string | undefined, caPem: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: caPem, checkServerIdentity: () => undefined }, () => {
      const der = socket.getPeerX509Certificate()?.raw
      socket.destroy()
      if (der === undefined) reject(new Error('no server certificate'))
      else resolve(createHash('sha256').update(der).digest('hex'))
    })
    socket.once('error', reject)
  })
}
