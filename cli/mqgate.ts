#!/usr/bin/env node
import os from 'node:os'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { isCertsError } from '../certs/index.js'
import { AdminApiError, EstClientError, registerEnrollVerbs, registerPkiVerbs } from '../certs/cli/index.js'
import { ConfigError, LOG_FORMATS, type LogFormat } from '../config/gateway-config.js'
import { registerReadingVerbs } from '../bridge/cli/readings-verbs.js'
import { KekRequiredError } from '../config/kek-config.js'
import { runStartWorkers } from './cluster.js'
import { runApi, runBridge, runBroker, type ProcessOptions, type RunningProcess } from './processes.js'
import { registerRegistryVerbs } from './registry-verbs.js'

/**
 * The `mqgate` command. Exit codes: 0 done, 1 refused or failed (reason on
 * stderr), 2 usage error. This is the only file that reads process.env.
 */
const ENVIRONMENT_HELP = `
Environment (processes):
  MQGATE_DATA_DIR            state directory (default ./data)
  REDIS_URL                  redis://host:port/db: registry and MQTT sessions in Redis
  MQGATE_MQTT_PORT           MQTT over TLS port (default 8883)
  MQGATE_MQTT_HOST           address to bind (default: all)
  MQGATE_WS_PORT             MQTT over secure WebSocket, path /mqtt (default 8084; 0: off)
  MQGATE_TLS_PORT            one TLS port for all (e.g. 443): ALPN mqtt -> MQTT, else HTTPS
                             and /mqtt WebSocket (default 0: off; start only)
  MQGATE_DOMAIN              organisations are <org>.messaging.<domain> (default localhost)
  MQGATE_DEFAULT_ORG         organisation of clients without SNI (start: demo; broker: none)
  MQGATE_CONNECT_TIMEOUT_MS  time allowed between TLS handshake and CONNECT (default 10000)
  MQGATE_TLS_HANDSHAKE_TIMEOUT_MS, MQGATE_KEEPALIVE_MAX_S, MQGATE_MAX_PACKET_BYTES,
  MQGATE_MAX_CONNECTIONS_PER_IP, MQGATE_MAX_CONNECTIONS, MQGATE_CONNECTION_RATE_PER_IP,
  MQGATE_DRAIN_TIMEOUT_MS, MQGATE_MAX_INFLIGHT_INBOUND   broker limits (see README)
  MQGATE_PUBLISH_RATE_PER_CLIENT  PUBLISH packets/s one client may send (default 1000); over it
                             its socket is not read until it is back under
  MQGATE_PUBLISH_BYTES_PER_CLIENT PUBLISH bytes/s one client may send (default 4194304)
  MQGATE_MAX_QUEUED_BYTES_PER_CLIENT  unread bytes held for one subscriber (default 4194304);
                             beyond it QoS 0 is dropped, a persistent session's QoS 1 stays stored
  MQGATE_MAX_CHAIN_DEPTH     certificates allowed below an uploaded CA, device's own included (default 4)
  MQGATE_PKI_HTTP_PORT       CRLs (/crl/<org>.crl) and OCSP (/ocsp/<org>) over plain HTTP (default 8080,
                             0: off; start and api); MQGATE_PKI_HTTP_HOST to bind
  MQGATE_CRL_URL             CRL location written into certificates ({org} filled in; default the
                             PKI HTTP port's, or the temps API's when that port is off)
  MQGATE_OCSP_URL            OCSP responder written into certificates, and stapling on the TLS listeners
                             (default the PKI HTTP port's /ocsp/{org}; none when that port is off; "none": none)
  MQGATE_CRL_FETCH_ALLOW     hosts, addresses, CIDR blocks the CRL fetcher (ca crl-source) and the
                             OCSP check (ca ocsp on) may reach, comma separated (default: anywhere,
                             and then only an admin may set a CRL source or turn the OCSP check on)
  MQGATE_ADMIN_PORT          admin API, HTTPS (default 9443)
  MQGATE_ADMIN_HOST          address the admin API binds (default: all)
  MQGATE_ADMIN_TOKEN         the bootstrap admin's bearer token (default: generated into <data dir>/admin-token);
                             other operators get theirs from mqgate operator create
  MQGATE_PKCS11_MODULE       PKCS#11 library of the token holding CA keys (org create --ca-key pkcs11:...)
  MQGATE_PKCS11_PIN          that token's user PIN (with MQGATE_PKCS11_MODULE; never logged)
  MQGATE_API_PORT            temps API, HTTPS (default 8443); MQGATE_API_HOST to bind
  MQGATE_PROTECTED_HOSTS     hosts whose requests need a client certificate (default *: all)
  MQGATE_TEMPS_URL           an external temps API the bridge POSTs readings to (unset: none are
                             POSTed: mqgate's own temps API serves the store the bridge writes)
  MQGATE_TEMPS_SERVERNAME    SNI for it ({org} filled in); MQGATE_TEMPS_CA_FILE, MQGATE_TEMPS_TIMEOUT_MS
  MQGATE_BRIDGE_CERT_FILE    the bridge's client certificate (with MQGATE_BRIDGE_KEY_FILE)
  MQGATE_BRIDGE_NAME         the bridge's consumer name (default: the host name)
  MQGATE_READING_EVENT       event carrying readings (default temp); MQGATE_READING_FORMAT (json)
  MQGATE_READINGS_PER_DEVICE readings kept per device (default 10000)
  MQGATE_RENEW_GRACE         how long after a renewed certificate's first use the certificate it
                             replaces is revoked (default 10m; at its own expiry at the latest)
  MQGATE_CONSOLE_IDLE_MINUTES minutes a web console session may idle (default 30)
  MQGATE_LOG_LEVEL           fatal|error|warn|info|debug|trace|silent (default info)
  MQGATE_LOG_FORMAT          json|pretty (default: pretty when stdout is a terminal, else json;
                             --log-format on start, broker, bridge, api beats it)
  MQGATE_KEK                 key-encryption key (base64 of 32 bytes) sealing every private key in the
                             registry; or MQGATE_KEK_FILE. Required with REDIS_URL; without Redis the
                             first start generates <data dir>/kek (0600)
  MQGATE_KEK_PREVIOUS        older KEKs (base64, comma-separated; or MQGATE_KEK_PREVIOUS_FILE, one a
                             line) that still decrypt while a rotation rolls out

Environment (mqgate registry rotate-kek, run directly on the store, not through the admin API):
  REDIS_URL or MQGATE_DATA_DIR, MQGATE_KEK / MQGATE_KEK_FILE (the current key) as the processes;
  --new-kek-file F names the new one

Environment (device verbs: enroll, renew):
  MQGATE_ENROLL_TOKEN        the one-time enrollment token for mqgate enroll (or --token-file)

Environment (operator verbs):
  MQGATE_ADMIN_URL           admin API URL (default https://127.0.0.1:$MQGATE_ADMIN_PORT)
  MQGATE_ADMIN_TOKEN         bearer token: the bootstrap admin's, or an operator's (default: <data dir>/admin-token)
  MQGATE_ADMIN_CA            CA of the admin API (default: <data dir>/admin/ca.pem)
  REDIS_URL                  registry backup|restore open the store itself (Redis, else
                             MQGATE_DATA_DIR), not the admin API`

function program (): Command {
  const root = new Command('mqgate')
    .description('MQTT gateway for device fleets that authenticate with X.509 client certificates')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText('after', ENVIRONMENT_HELP)
  const secrets = { adminToken: emptyToUndefined(process.env.MQGATE_ADMIN_TOKEN) }
  // What a process verb hands over: the secret, its --log-format, and whether a person reads stdout.
  const processOptions = (options: LogFormatOption): ProcessOptions => ({ ...secrets, logFormat: options.logFormat, terminal: process.stdout.isTTY === true })
  root.command('start')
    .description('run the gateway on embedded defaults (broker, admin API, temps API, CRLs and OCSP over HTTP, bridge); the first start creates the demo organisation')
    .option('--workers <n>', 'processes sharing the ports (needs REDIS_URL; without it one runs)', parseWorkers, os.availableParallelism())
    .addOption(logFormatOption())
    .action(async (options: { workers: number } & LogFormatOption) => {
      await serve(await runStartWorkers(process.env, processOptions(options), options.workers, text => process.stdout.write(text + '\n')))
    })
  root.command('broker')
    .description('run the MQTT broker and the admin API (MQGATE_DEFAULT_ORG unset: clients must send SNI <org>.messaging.<domain>)')
    .addOption(logFormatOption())
    .action(async (options: LogFormatOption) => { await serve(await runBroker(process.env, processOptions(options))) })
  root.command('bridge')
    .description('run the bridge: readings from the Redis log into the store, and to an external temps API if MQGATE_TEMPS_URL is set (needs REDIS_URL)')
    .addOption(logFormatOption())
    .action(async (options: LogFormatOption) => { await serve(await runBridge(process.env, processOptions(options))) })
  root.command('api')
    .description('run the temps API over the Redis reading store, and the CRLs and OCSP over HTTP (needs REDIS_URL)')
    .addOption(logFormatOption())
    .action(async (options: LogFormatOption) => { await serve(await runApi(process.env, processOptions(options))) })
  const cli = { env: process.env, out: (text: string) => process.stdout.write(text + '\n') }
  registerPkiVerbs(root, cli)
  registerEnrollVerbs(root, cli)
  registerReadingVerbs(root, cli)
  registerRegistryVerbs(root, cli)
  return root
}

interface LogFormatOption { readonly logFormat?: LogFormat }

/** `--log-format json|pretty` on the process verbs; a value outside the two is a usage error (exit 2). */
function logFormatOption (): Option {
  return new Option('--log-format <format>', 'json (one object a line) or pretty (for people); beats MQGATE_LOG_FORMAT; default: pretty when stdout is a terminal, else json')
    .choices(LOG_FORMATS)
}

function parseWorkers (value: string): number {
  const workers = Number(value)
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new InvalidArgumentError('a whole number from 1 to 256')
  return workers
}

function emptyToUndefined (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_LIMIT_MS = 10_000

/**
 * Keeps the process up until SIGTERM or SIGINT, then closes it gracefully:
 * listeners stop accepting, publishes being queued finish, clients are
 * closed, stores flushed; after 10 s it exits regardless.
 */
async function serve (running: RunningProcess): Promise<void> {
  await new Promise<void>(resolve => {
    const stop = (signal: string): void => {
      running.log.info({ event: 'process.stopping', signal }, 'stopping')
      const deadline = setTimeout(() => {
        running.log.error({ event: 'process.stop-timeout', limitMs: SHUTDOWN_LIMIT_MS }, 'shutdown took too long; exiting')
        process.exit(1)
      }, SHUTDOWN_LIMIT_MS)
      deadline.unref()
      running.close().then(() => {
        running.log.info({ event: 'process.stopped', signal }, 'stopped')
        resolve()
      }, err => {
        running.log.error({ err }, 'shutdown failed')
        process.exitCode = 1
        resolve()
      })
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
  // Reconnect timers of clients already told to close must not keep a stopped process alive.
  process.exit(process.exitCode ?? 0)
}

async function main (): Promise<void> {
  // `mqgate --help | head` closes stdout early; that is not an error.
  process.stdout.on('error', err => { if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err })
  try {
    await program().parseAsync(process.argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // `--help` and `--version` succeed; a verb group called without its verb is a usage error.
      process.exitCode = ['commander.helpDisplayed', 'commander.version'].includes(err.code) || (err.code === 'commander.help' && err.exitCode === 0) ? 0 : 2
      return
    }
    process.stderr.write(describe(err) + '\n')
    process.exitCode = 1
  }
}

function describe (err: unknown): string {
  if (err instanceof ConfigError || err instanceof AdminApiError || err instanceof EstClientError || err instanceof KekRequiredError || isCertsError(err)) return `mqgate: ${err.code}: ${err.message}`
  return `mqgate: ${(err as Error).message}`
}

await main()
