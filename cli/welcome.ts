import { DEMO_ORG, type BootstrapFiles } from '../certs/index.js'

const DEMO_DEVICE = 'd:sensor:demo-001'
const DEMO_APP = 'a:demo-app'
const DEMO_READING = '{"temperature":36.6,"time":"2020-09-28T02:54:56Z"}'

/**
 * What `mqgate start` prints for a person: commands that work as pasted on a
 * machine where `demo.messaging.<domain>` does not resolve, because a client
 * connecting to 127.0.0.1 without a matching SNI lands in the demo organisation
 * and the demo server certificate names 127.0.0.1.
 */
export function welcomeText (files: BootstrapFiles, port: number, adminPort: number, apiPort: number, generatedKekFile?: string, pkiPort?: number): string {
  const device = files.identities[DEMO_DEVICE]
  const app = files.identities[DEMO_APP]
  const tls = (f: { certFile: string, keyFile: string }): string =>
    `--cafile ${quote(files.caFile)} --cert ${quote(f.certFile)} --key ${quote(f.keyFile)}`
  return [
    '',
    `mqgate is running: MQTT over TLS on port ${port}, organisation "${DEMO_ORG}", demo identities in ${files.dir}`,
    '',
    'Publish a reading as the demo device:',
    `mosquitto_pub -h 127.0.0.1 -p ${port} ${tls(device)} -i d:${DEMO_ORG}:sensor:demo-001 -q 1 -t iot-2/evt/temp/fmt/json -m '${DEMO_READING}'`,
    '',
    'Watch every event of the organisation as the demo application:',
    `mosquitto_sub -h 127.0.0.1 -p ${port} ${tls(app)} -i a:${DEMO_ORG}:demo-app -q 1 -v -t 'iot-2/type/+/id/+/evt/+/fmt/+'`,
    '',
    'Read the demo device\'s readings as the demo application, over HTTPS:',
    `curl -sS --cacert ${quote(files.caFile)} --cert ${quote(app.certFile)} --key ${quote(app.keyFile)} https://127.0.0.1:${apiPort}/devices/sensor/demo-001/temps`,
    '',
    ...(pkiPort === undefined
      ? []
      : ['Ask the organisation\'s OCSP responder about the demo device\'s certificate (good, or revoked after mqgate cert revoke):',
          `openssl ocsp -issuer ${quote(files.caFile)} -cert ${quote(device.certFile)} -url http://127.0.0.1:${pkiPort}/ocsp/${DEMO_ORG} -CAfile ${quote(files.caFile)}`,
          '']),
    `Operator API on https://127.0.0.1:${adminPort} (token in MQGATE_ADMIN_TOKEN or <data dir>/admin-token); try: npx mqgate org list`,
    ...(generatedKekFile === undefined
      ? []
      : ['', `A key-encryption key was generated into ${generatedKekFile} (mode 0600): every CA and server private key in the registry is encrypted with it. Keep a copy apart from the data dir; without it the registry cannot be opened (README, "Security model").`]),
    ''
  ].join('\n')
}

/** POSIX shell quoting for paths, so the printed commands survive spaces in the data dir. */
function quote (value: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`
}
