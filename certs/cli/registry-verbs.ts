import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Command } from 'commander'
import { backupOperators, checkOperatorRestore, operatorsOfBackup, restoreOperators } from '../admin-api/operators/operator-backup.js'
import { openOperatorStore } from '../admin-api/operators/open-operator-store.js'
import type { OperatorStore } from '../admin-api/operators/operator-store.js'
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

/** The two stores a backup covers, on one backend: the registry's and the admin API's operators'. */
interface Stores { readonly registry: RegistryStore, readonly operators: OperatorStore }

/**
 * `registry backup|restore` open the registry store themselves (REDIS_URL or
 * the data dir), not the admin API: a restore is needed when the store came
 * back empty, which is when the brokers in front of it are not ready, and a
 * backup must hold what the store holds, not one process's memory of it.
 * The operators are composed here, beside the registry (which knows none).
 */
export function registerBackupVerbs (registry: Command, ctx: CliContext & { env: { REDIS_URL?: string } }): void {
  withStore(registry.command('backup <file>'))
    .description('write every organisation (CA keys, server keys, issued-certificate records, revocations, gateway scopes, CRLs) and the operators (their tokens\' hashes) to <file>, mode 0600; the file holds the private keys, sealed under the KEK')
    .action(async (file: string, options: StoreOptions) => {
      await using(ctx, options, async ({ registry: store, operators }) => {
        const backup = { ...await backupRegistry(store), operators: await backupOperators(operators) }
        await writeFileAtomic(file, JSON.stringify(backup, null, 2) + '\n', 0o600)
        ctx.out(`backed up ${backup.orgs.length} organisation(s) from the ${store.kind} store to ${file}: ${backup.orgs.map(o => o.state.org.id).join(', ') || '(none)'}; ${backup.operators.length} operator(s)`)
        process.stderr.write(KEY_WARNING(file) + '\n')
      })
    })
  withStore(registry.command('restore <file>'))
    .description('write the organisations and operators of a backup into the store (refused, before anything is written, if it already holds one of them); running brokers load them without a restart')
    .action(async (file: string, options: StoreOptions) => {
      const backup = parseBackup(await readFile(file, 'utf8'))
      const records = operatorsOfBackup(backup.operators)
      await using(ctx, options, async ({ registry: store, operators }) => {
        // Both refusals come before any write: the organisations' inside restoreRegistry, ahead of its writes.
        await checkOperatorRestore(operators, records)
        const restored = await restoreRegistry(store, backup)
        const operatorCount = await restoreOperators(operators, records)
        ctx.out(`restored ${restored.length} organisation(s) into the ${store.kind} store: ${restored.join(', ') || '(none)'}; ${operatorCount} operator(s)`)
      })
    })
}

function withStore (command: Command): Command {
  return command
    .option('--redis <url>', 'the Redis holding the registry (default: REDIS_URL)')
    .option('--data-dir <dir>', 'the data dir holding the registry when there is no Redis (default: MQGATE_DATA_DIR, else ./data)')
}

async function using (ctx: CliContext & { env: { REDIS_URL?: string } }, options: StoreOptions, work: (stores: Stores) => Promise<void>): Promise<void> {
  const url = options.redis ?? (ctx.env.REDIS_URL === '' ? undefined : ctx.env.REDIS_URL)
  const dataDir = path.resolve(options.dataDir ?? ctx.env.MQGATE_DATA_DIR ?? './data')
  // A one-shot command: two retries, and failures reported by the command that met them.
  const registry = openRegistryStore({ dataDir, redisUrl: url, maxRetriesPerRequest: 2 })
  // A record no operator can have is left out of a backup (a restore would refuse it), and said so.
  const operators = openOperatorStore({ dataDir, redisUrl: url, maxRetriesPerRequest: 2, onInvalid: (id, problem) => process.stderr.write(`operator record ${JSON.stringify(id.slice(0, 64))} skipped: ${problem}\n`) })
  try {
    await work({ registry, operators })
  } finally {
    await registry.close()
    await operators.close()
  }
}
