import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { kekFromBase64, keyRing, KEK_BYTES, type Kek, type KeyRing } from '../certs/index.js'
import type { EnvReader } from './env-reader.js'

/** The key-encryption keys the environment names (the entry reads them; nothing below it does). */
export interface KekConfig {
  /** MQGATE_KEK or MQGATE_KEK_FILE; unset: `<data dir>/kek` without Redis, refused with it. */
  readonly current?: Kek
  /** MQGATE_KEK_PREVIOUS / MQGATE_KEK_PREVIOUS_FILE: older keys that still open blobs while a rotation rolls out. */
  readonly previous: readonly Kek[]
}

export interface KekVariables {
  readonly value: string
  readonly file: string
  readonly previous: string
  readonly previousFile: string
}

/** Reads the KEK variables, recording problems without ever echoing a key. */
export function readKekConfig (read: EnvReader, names: KekVariables): KekConfig {
  const value = read.optionalString(names.value)
  const file = read.optionalString(names.file)
  read.require(value === undefined || file === undefined, `${names.value} and ${names.file} exclude each other: give the key one way`)
  const current = value !== undefined ? parse(read, names.value, value) : file !== undefined ? parse(read, names.file, readText(read, names.file, file)) : undefined
  const previousText = [read.optionalString(names.previous) ?? '', ...[read.optionalString(names.previousFile)].filter(f => f !== undefined).map(f => readText(read, names.previousFile, f))].join('\n')
  const previous = previousText.split(/[\s,]+/).filter(k => k !== '').map(k => parse(read, names.previous, k)).filter((k): k is Kek => k !== undefined)
  return Object.freeze({ ...(current === undefined ? {} : { current }), previous: Object.freeze(previous) })
}

function parse (read: EnvReader, name: string, text: string | undefined): Kek | undefined {
  if (text === undefined) return undefined
  try {
    return kekFromBase64(text)
  } catch (err) {
    read.require(false, `${name}: ${(err as Error).message}`)
    return undefined
  }
}

function readText (read: EnvReader, name: string, file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    read.require(false, `${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

/** REDIS_URL without a KEK: Redis (its AOF, RDB, backups) alone must not be enough to mint certificates. */
export class KekRequiredError extends Error {
  override readonly name = 'KekRequiredError'
  readonly code = 'CONFIG_ERR_KEK_REQUIRED'

  constructor () {
    super('REDIS_URL is set but no key-encryption key is: set MQGATE_KEK (base64 of 32 bytes, e.g. `openssl rand -base64 32`) or MQGATE_KEK_FILE, the same on every process (README, "Security model")')
  }
}

/** The key ring a process runs with, and the file it generated, if it did (the welcome text says so). */
export interface ResolvedKeys {
  readonly keys: KeyRing
  readonly generatedFile?: string
}

export function dataDirKekFile (dataDir: string): string {
  return path.join(dataDir, 'kek')
}

/**
 * The configured KEK; without one, on embedded defaults, `<data dir>/kek`
 * (generated on first start, mode 0600) with `<data dir>/kek.previous` after a
 * rotation; with REDIS_URL, KekRequiredError.
 */
export async function resolveKeys (cfg: { readonly dataDir: string, readonly redisUrl?: string, readonly kek: KekConfig }, options: { create: boolean } = { create: true }): Promise<ResolvedKeys> {
  if (cfg.kek.current !== undefined) return { keys: keyRing(cfg.kek.current, cfg.kek.previous) }
  if (cfg.redisUrl !== undefined) throw new KekRequiredError()
  const file = dataDirKekFile(cfg.dataDir)
  const previous = [...cfg.kek.previous, ...await readOptionalKek(`${file}.previous`)]
  const existing = await readOptionalKek(file)
  if (existing.length > 0) return { keys: keyRing(existing[0], previous) }
  if (!options.create) throw new KekRequiredError()
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 })
  try {
    await writeFile(file, randomBytes(KEK_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
  } catch (err) {
    // Another process of the same data dir made it first: use that one.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return { keys: keyRing((await readOptionalKek(file))[0], previous) }
  }
  return { keys: keyRing((await readOptionalKek(file))[0], previous), generatedFile: file }
}

async function readOptionalKek (file: string): Promise<Kek[]> {
  try {
    return [kekFromBase64(await readFile(file, 'utf8'))]
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}
