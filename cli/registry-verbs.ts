import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { pino } from 'pino'
import { kekFromBase64, keyRing, openRegistryStore, sealStoredKeys, writeFileAtomic, type Kek } from '../certs/index.js'
import { registerBackupVerbs, type CliContext } from '../certs/cli/index.js'
import { loadConfig } from '../config/gateway-config.js'
import { dataDirKekFile, resolveKeys } from '../config/kek-config.js'
import { createRootLogger } from './logger.js'

/**
 * `mqgate registry ...`: verbs that work on the registry store itself, not
 * through the admin API, because they need what the API must never handle:
 * key-encryption keys. Run them where the store is reachable, with the same
 * REDIS_URL / MQGATE_DATA_DIR and MQGATE_KEK(_FILE) as the processes.
 */
export function registerRegistryVerbs (program: Command, ctx: CliContext & { env: NodeJS.ProcessEnv }): void {
  const { env, out } = ctx
  const registry = program.command('registry').description('the registry store itself: back up, restore, rotate the key-encryption key (directly on REDIS_URL or MQGATE_DATA_DIR, not through the admin API)')
  registerBackupVerbs(registry, ctx)
  registry.command('rotate-kek')
    .description('re-encrypt every stored private key under a new key-encryption key, directly on the store; running processes keep what they hold until they restart (README, "Security model")')
    .requiredOption('--new-kek-file <file>', 'the new KEK: base64 of 32 bytes (openssl rand -base64 32 > F)')
    .action(async (options: { newKekFile: string }) => {
      const cfg = loadConfig(env)
      const { keys } = await resolveKeys(cfg, { create: false })
      const next = kekFromBase64(readFileSync(options.newKekFile, 'utf8'))
      // One log line per record on stderr; the summary goes to stdout.
      const log = createRootLogger(cfg.logLevel, pino.destination(2)).child({ component: 'registry' })
      const store = openRegistryStore({ dataDir: cfg.dataDir, redisUrl: cfg.redisUrl, log })
      let written: number
      try {
        written = await sealStoredKeys(store, keyRing(next, [keys.current, ...keys.previous]), log, 'rotate')
      } finally {
        await store.close()
      }
      const fromDataDir = cfg.kek.current === undefined
      if (fromDataDir) await replaceDataDirKek(cfg.dataDir, keys.current, next)
      out([
        `re-encrypted ${written} record(s) under key-encryption key ${next.kid} (was ${keys.current.kid})`,
        fromDataDir
          ? `${dataDirKekFile(cfg.dataDir)} now holds the new key and ${dataDirKekFile(cfg.dataDir)}.previous the old one: restart mqgate to use it`
          : `now restart every process with MQGATE_KEK_FILE=${options.newKekFile} and the old key in MQGATE_KEK_PREVIOUS(_FILE); once all have restarted, run this verb again with those settings and --new-kek-file ${options.newKekFile} to re-encrypt what the old processes wrote meanwhile, then drop MQGATE_KEK_PREVIOUS`
      ].join('\n'))
    })
}

/** Embedded defaults: the data dir's key becomes `kek.previous` (it still opens what a running process writes until it restarts). */
async function replaceDataDirKek (dataDir: string, old: Kek, next: Kek): Promise<void> {
  const file = dataDirKekFile(dataDir)
  await writeFileAtomic(`${file}.previous`, old.key.export().toString('base64') + '\n', 0o600)
  await writeFileAtomic(file, next.key.export().toString('base64') + '\n', 0o600)
}
