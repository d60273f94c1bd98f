import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Command } from 'commander'
import { writeFileAtomic } from '../atomic-file.js'
import { openRegistryStore } from '../open-registry.js'
import { backupRegistry, parseBackup, restoreRegistry } from '../registry-backup.js'
import type { RegistryStore } from '../registry-store.js'
import type { CliContext } from './cli-context.js'

const KEY_WARNING = (file: string): string => [
  '',
  '  !!! WARNING !!!',
  `  ${file} holds every organisation's CA private keys and server private keys,`,
  '  sealed under the KEK (AES-256-GCM) as the store holds them: with the KEK, whoever',
  '  reads it can issue certificates your brokers accept. It was written mode 0600;',
  '  never keep it beside the KEK, and delete copies you do not need.',
  ''
].join('\n')

interface StoreOptions { redis?: string, dataDir?: string }

/**
 * `registry backup|restore` open the registry store themselves (REDIS_URL or
 * the data dir), not the admin API: a restore is needed when the store came
 * back empty, which is when the brokers in front of it are not ready, and a
 * backup must hold what the store holds, not one process's memory of it.
 */
export function registerBackupVerbs (registry: Command, ctx: CliContext & { env: { REDIS_URL?: string } }): void {
  withStore(registry.command('backup <file>'))
    .description('write every organisation (CA keys, server keys, issued-certificate records, revocations, gateway scopes, CRLs) to <file>, mode 0600; the file holds the private keys, sealed under the KEK')
    .action(async (file: string, options: StoreOptions) => {
      await using(ctx, options, async store => {
        const backup = await backupRegistry(store)
        await writeFileAtomic(file, JSON.stringify(backup, null, 2) + '\n', 0o600)
        ctx.out(`backed up ${backup.orgs.length} organisation(s) from the ${store.kind} store to ${file}: ${backup.orgs.map(o => o.state.org.id).join(', ') || '(none)'}`)
        process.stderr.write(KEY_WARNING(file) + '\n')
      })
    })
  withStore(registry.command('restore <file>'))
    .description('write the organisations of a backup into the store (refused if it already holds one of them); running brokers load them without a restart')
    .action(async (file: string, options: StoreOptions) => {
      const backup = parseBackup(await readFile(file, 'utf8'))
      await using(ctx, options, async store => {
        const restored = await restoreRegistry(store, backup)
        ctx.out(`restored ${restored.length} organisation(s) into the ${store.kind} store: ${restored.join(', ') || '(none)'}`)
      })
    })
}

function withStore (command: Command): Command {
  return command
    .option('--redis <url>', 'the Redis holding the registry (default: REDIS_URL)')
    .option('--data-dir <dir>', 'the data dir holding the registry when there is no Redis (default: MQGATE_DATA_DIR, else ./data)')
}

async function using (ctx: CliContext & { env: { REDIS_URL?: string } }, options: StoreOptions, work: (store: RegistryStore) => Promise<void>): Promise<void> {
  const url = options.redis ?? (ctx.env.REDIS_URL === '' ? undefined : ctx.env.REDIS_URL)
  // A one-shot command: two retries, and failures reported by the command that met them.
  const store = openRegistryStore({ dataDir: path.resolve(options.dataDir ?? ctx.env.MQGATE_DATA_DIR ?? './data'), redisUrl: url, maxRetriesPerRequest: 2 })
  try {
    await work(store)
  } finally {
    await store.close()
  }
}
