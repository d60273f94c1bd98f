import path from 'node:path'
import { adminCaFile, adminTokenFile, DEMO_ORG, type BootstrapFiles } from '../certs/index.js'
import { ADMIN_DEFAULT_PORT } from '../config/gateway-config.js'

const DEMO_DEVICE = 'd:sensor:demo-001'
const DEMO_APP = 'a:demo-app'
const DEMO_READING = '{"temperature":36.6,"time":"2020-09-28T02:54:56Z"}'
/** Above and below the text, so that it stands apart from the log lines around it (JSON or pretty). */
const RULE = '-'.repeat(78)

/** What the welcome text tells a person about: the demo files, where each part listens, how to sign in. */
export interface Welcome {
  readonly files: BootstrapFiles
  readonly ports: { readonly mqtt?: number, readonly admin?: number, readonly api?: number, readonly pki?: number }
  readonly dataDir: string
  /** The bootstrap admin token came from MQGATE_ADMIN_TOKEN rather than <data dir>/admin-token. */
  readonly adminTokenFromEnv: boolean
  /** A key-encryption key this start generated (a first start without Redis). */
  readonly generatedKekFile?: string
}

/**
 * What `mqgate start` prints for a person: commands that work as pasted on a
 * machine where `demo.messaging.<domain>` does not resolve, because a client
 * connecting to 127.0.0.1 without a matching SNI lands in the demo organisation
 * and the demo server certificate names 127.0.0.1. It names where the admin
 * token is, never the token: the file (0600) and the environment hold it.
 */
export function welcomeText (welcome: Welcome): string {
  const { files, ports } = welcome
  const port = ports.mqtt ?? 0
  const device = files.identities[DEMO_DEVICE]
  const app = files.identities[DEMO_APP]
  const tls = (f: { certFile: string, keyFile: string }): string =>
    `--cafile ${quote(files.caFile)} --cert ${quote(f.certFile)} --key ${quote(f.keyFile)}`
  return [
    '',
    RULE,
    `mqgate is running: MQTT over TLS on port ${port}, organisation "${DEMO_ORG}", demo identities in ${files.dir}`,
    '',
    'Publish a reading as the demo device:',
    `mosquitto_pub -h 127.0.0.1 -p ${port} ${tls(device)} -i d:${DEMO_ORG}:sensor:demo-001 -q 1 -t iot-2/evt/temp/fmt/json -m '${DEMO_READING}'`,
    '',
    'Watch every event of the organisation as the demo application:',
    `mosquitto_sub -h 127.0.0.1 -p ${port} ${tls(app)} -i a:${DEMO_ORG}:demo-app -q 1 -v -t 'iot-2/type/+/id/+/evt/+/fmt/+'`,
    '',
    'Read the demo device\'s readings as the demo application, over HTTPS:',
    `curl -sS --cacert ${quote(files.caFile)} --cert ${quote(app.certFile)} --key ${quote(app.keyFile)} https://127.0.0.1:${ports.api ?? 0}/devices/sensor/demo-001/temps`,
    '',
    ...(ports.pki === undefined
      ? []
      : ['Ask the organisation\'s OCSP responder about the demo device\'s certificate (good, or revoked after mqgate cert revoke):',
          `openssl ocsp -issuer ${quote(files.caFile)} -cert ${quote(device.certFile)} -url http://127.0.0.1:${ports.pki}/ocsp/${DEMO_ORG} -CAfile ${quote(files.caFile)}`,
          '']),
    ...adminLines(welcome),
    ...(welcome.generatedKekFile === undefined
      ? []
      : ['', `A key-encryption key was generated into ${welcome.generatedKekFile} (mode 0600): every CA and server private key in the registry is encrypted with it. Keep a copy apart from the data dir; without it the registry cannot be opened (README, "Security model").`]),
    RULE,
    ''
  ].join('\n')
}

/** The admin API and its web console, and how to sign in to them (README, "Operators and roles", "Web console"). */
function adminLines (welcome: Welcome): string[] {
  const adminPort = welcome.ports.admin ?? 0
  const caFile = adminCaFile(welcome.dataDir)
  const tokenFile = adminTokenFile(welcome.dataDir)
  const bearer = welcome.adminTokenFromEnv ? '$MQGATE_ADMIN_TOKEN' : `$(cat ${quote(tokenFile)})`
  return [
    `Operators use the admin API: https://127.0.0.1:${adminPort}, its TLS CA in ${caFile}.`,
    welcome.adminTokenFromEnv
      ? 'Sign in with a bearer token; the admin token is the MQGATE_ADMIN_TOKEN this process was given (export it where you run the CLI):'
      : `Sign in with a bearer token; the admin token is in ${tokenFile} (mode 0600), which the CLI reads itself:`,
    `${cliEnvironment(welcome.dataDir, adminPort)}npx mqgate org list`,
    `curl -sS --cacert ${quote(caFile)} -H "Authorization: Bearer ${bearer}" https://127.0.0.1:${adminPort}/orgs`,
    'Give each operator a token of their own, limited to their organisations (printed once, stored only hashed), to send as the bearer token or to set as MQGATE_ADMIN_TOKEN for the CLI:',
    `${cliEnvironment(welcome.dataDir, adminPort)}npx mqgate operator create alice --role org-admin --org ${DEMO_ORG}`,
    `The web console is https://127.0.0.1:${adminPort}/console (trust its CA, or accept the warning once): sign in there with the same token.`
  ]
}

/** What the CLI must be told to find this gateway, beyond its own defaults (./data, port 9443: certs/cli/admin-client.ts). */
function cliEnvironment (dataDir: string, adminPort: number): string {
  return [
    ...(dataDir === path.resolve('./data') ? [] : [`MQGATE_DATA_DIR=${quote(dataDir)}`]),
    ...(adminPort === ADMIN_DEFAULT_PORT ? [] : [`MQGATE_ADMIN_PORT=${adminPort}`])
  ].map(assignment => assignment + ' ').join('')
}

/** POSIX shell quoting for paths, so the printed commands survive spaces in the data dir. */
function quote (value: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`
}
