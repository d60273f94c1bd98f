import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

/**
 * The README's renewal commands, run as a device with a shell would: a new
 * key and CSR by `openssl req`, `curl` with the current certificate to
 * `simplereenroll`, and `openssl pkcs7 -print_certs` on the answer.
 */
export const EST_RENEW_SCRIPT = `
set -e
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OUT.key" -subj "/CN=$CN" -outform DER | base64 > "$OUT.b64"
curl -sS --cacert ca.pem --cert "$CERT.crt" --key "$CERT.key" --resolve "$HOST:$PORT:127.0.0.1" \\
  -H 'Content-Type: application/pkcs10' --data-binary @"$OUT.b64" \\
  -o "$OUT.answer" -w '%{http_code} %{content_type}' "https://$HOST:$PORT/.well-known/est/simplereenroll" > "$OUT.status"
if [ "$(cut -d' ' -f1 "$OUT.status")" = 200 ]; then
  base64 -d "$OUT.answer" | openssl pkcs7 -inform DER -print_certs -out "$OUT.chain.pem"
  openssl x509 -in "$OUT.chain.pem" -out "$OUT.crt"
fi
`

export interface EstAnswer {
  readonly status: number
  readonly contentType: string
  /** The JSON error body of a refusal. */
  readonly body: any
  /** On 200: what `openssl pkcs7 -print_certs` printed, and the leaf and its new key as files. */
  readonly chainPem?: string
  readonly certPem?: string
  readonly keyPem?: string
}

/**
 * Renews `<cert>.crt`/`<cert>.key` in `dir` (which holds `ca.pem`) for the
 * subject `cn`; the new files are `<out>.crt` and `<out>.key`.
 */
export async function estRenew (dir: string, options: { port: number, host: string, cn: string, cert: string, out: string }): Promise<EstAnswer> {
  const env = { ...process.env, PORT: String(options.port), HOST: options.host, CN: options.cn, CERT: options.cert, OUT: options.out }
  await new Promise<void>((resolve, reject) => {
    execFile('sh', ['-c', EST_RENEW_SCRIPT], { cwd: dir, env }, (err, _stdout, stderr) => err === null ? resolve() : reject(new Error(`${err.message}\n${stderr}`)))
  })
  const file = (suffix: string): string => path.join(dir, `${options.out}${suffix}`)
  const [code, ...type] = readFileSync(file('.status'), 'utf8').trim().split(' ')
  const status = Number(code)
  const text = readFileSync(file('.answer'), 'utf8')
  let body: unknown
  try { body = JSON.parse(text) } catch { body = undefined }
  if (status !== 200 || !existsSync(file('.crt'))) return { status, contentType: type.join(' '), body }
  return { status, contentType: type.join(' '), body, chainPem: readFileSync(file('.chain.pem'), 'utf8'), certPem: readFileSync(file('.crt'), 'utf8'), keyPem: readFileSync(file('.key'), 'utf8') }
}
