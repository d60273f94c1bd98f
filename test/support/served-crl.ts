import https from 'node:https'
import path from 'node:path'
import type { MqgateProcess } from './mqgate-process.js'
import { openssl } from './openssl.js'

/** `GET /crl/<org>.crl` from a gateway's temps API, as a relying party fetches it (DER). */
export async function fetchServedCrl (gateway: MqgateProcess, orgId: string, caPem: string): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: gateway.apiPort, path: `/crl/${orgId}.crl`, servername: `${orgId}.messaging.localhost`, ca: caPem }, res => {
      const chunks: Buffer[] = []
      res.on('data', chunk => chunks.push(chunk))
      res.on('end', () => res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET /crl/${orgId}.crl: ${String(res.statusCode)}`)))
    })
    req.on('error', reject)
  })
}

/** `openssl verify -crl_check` of one certificate against `dir`'s ca.pem and served.crl.pem: its output, or the refusal. */
export function verifyWithServedCrl (dir: string, certFile: string): string {
  try {
    return openssl(['verify', '-crl_check', '-CRLfile', path.join(dir, 'served.crl.pem'), '-CAfile', path.join(dir, 'ca.pem'), certFile])
  } catch (err) {
    return (err as Error).message
  }
}
