#!/usr/bin/env node
import { Command, CommanderError } from 'commander'
import { ConfigError } from '../config/gateway-config.js'
import { runBroker, runStart, type RunningProcess } from './processes.js'

/**
 * The `mqgate` command. Exit codes: 0 done, 1 refused or failed (reason on
 * stderr), 2 usage error. This is the only file that reads process.env.
 */
const ENVIRONMENT_HELP = `
Environment:
  MQGATE_DATA_DIR            state directory (default ./data)
  REDIS_URL                  redis://host:port/db: registry and MQTT sessions in Redis
  MQGATE_MQTT_PORT           MQTT over TLS port (default 8883)
  MQGATE_MQTT_HOST           address to bind (default: all)
  MQGATE_DOMAIN              organisations are <org>.messaging.<domain> (default localhost)
  MQGATE_DEFAULT_ORG         organisation of clients without SNI (start: demo; broker: none)
  MQGATE_CONNECT_TIMEOUT_MS  time allowed between TLS handshake and CONNECT (default 30000)
  MQGATE_LOG_LEVEL           fatal|error|warn|info|debug|trace|silent (default info)`

function program (): Command {
  const root = new Command('mqgate')
    .description('MQTT gateway for device fleets that authenticate with X.509 client certificates')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText('after', ENVIRONMENT_HELP)
  root.command('start')
    .description('run the gateway in one process on embedded defaults; the first start creates the demo organisation')
    .addHelpText('after', ENVIRONMENT_HELP)
    .action(async () => { await serve(await runStart(process.env, text => process.stdout.write(text + '\n'))) })
  root.command('broker')
    .description('run the MQTT broker only (MQGATE_DEFAULT_ORG unset: clients must send SNI <org>.messaging.<domain>)')
    .addHelpText('after', ENVIRONMENT_HELP)
    .action(async () => { await serve(await runBroker(process.env)) })
  return root
}

/** Keeps the process up until SIGTERM or SIGINT, then closes it gracefully. */
async function serve (running: RunningProcess): Promise<void> {
  await new Promise<void>(resolve => {
    const stop = (signal: string): void => {
      running.log.info({ event: 'process.stopping', signal }, 'stopping')
      running.close().then(resolve, err => {
        running.log.error({ err }, 'shutdown failed')
        process.exitCode = 1
        resolve()
      })
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}

async function main (): Promise<void> {
  // `mqgate --help | head` closes stdout early; that is not an error.
  process.stdout.on('error', err => { if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err })
  try {
    await program().parseAsync(process.argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2
      return
    }
    const message = err instanceof ConfigError ? err.message : `mqgate: ${(err as Error).message}`
    process.stderr.write(message + '\n')
    process.exitCode = 1
  }
}

await main()
