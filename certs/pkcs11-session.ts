import { createRequire } from 'node:module'
import type * as Pkcs11js from 'pkcs11js'
import { CertsError } from './errors.js'

/**
 * The PKCS#11 module (pkcs11js, PeculiarVentures' binding) and one logged-in
 * session per token. The module path and PIN arrive from the process entry's
 * config; neither is ever put in an error or a log line. pkcs11js calls are
 * synchronous, so one session never has two operations under way (PKCS#11
 * 5.2: a session runs one cryptographic operation at a time).
 */

export interface Pkcs11Config {
  /** MQGATE_PKCS11_MODULE: the token's PKCS#11 library (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  readonly modulePath: string
  /** MQGATE_PKCS11_PIN: the token user's PIN (CKU_USER). */
  readonly pin: string
}

export type Pkcs11 = Pkcs11js.PKCS11
export type Handle = Pkcs11js.Handle

let loaded: typeof Pkcs11js | undefined

/**
 * The binding, loaded at the first use: a gateway without a token (and an
 * image built with --ignore-scripts, where the native addon is absent) never
 * loads it.
 */
export function ck (): typeof Pkcs11js {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11js
    } catch {
      throw new CertsError('CERTS_ERR_HSM_UNAVAILABLE', 'the pkcs11js native addon is not built (npm rebuild pkcs11js, with a C++ compiler)')
    }
  }
  return loaded
}

/** The code of a failed PKCS#11 call: a PIN refused is the operator's to fix, anything else is the token's. */
export function hsmError (err: unknown, what: string): CertsError {
  if (err instanceof CertsError) return err
  const rv = (err as { code?: unknown }).code
  const pkcs11js = ck()
  const name = typeof rv === 'number' ? (Object.entries(pkcs11js).find(([k, v]) => k.startsWith('CKR_') && v === rv)?.[0] ?? `CKR 0x${rv.toString(16)}`) : 'no PKCS#11 result'
  if (rv === pkcs11js.CKR_PIN_INCORRECT || rv === pkcs11js.CKR_PIN_INVALID || rv === pkcs11js.CKR_PIN_LEN_RANGE || rv === pkcs11js.CKR_PIN_LOCKED) {
    return new CertsError('CERTS_ERR_HSM_PIN', `the token refused MQGATE_PKCS11_PIN (${name}) while ${what}`)
  }
  return new CertsError('CERTS_ERR_HSM_FAILED', `the PKCS#11 token failed (${name}) while ${what}`)
}

/** The module, loaded once and logged in to each token it is asked for. */
export class Pkcs11Sessions {
  private module?: Pkcs11
  private readonly sessions = new Map<string, Handle>()

  constructor (private readonly config: Pkcs11Config) {}

  /** A logged-in read-write session on the token labelled `token`. */
  session (token: string): { module: Pkcs11, session: Handle } {
    const module = this.load()
    const pkcs11js = ck()
    let session = this.sessions.get(token)
    if (session === undefined) {
      const slot = this.slotOf(module, token)
      try {
        session = module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
      } catch (err) { throw hsmError(err, `opening a session on token "${token}"`) }
      try {
        module.C_Login(session, pkcs11js.CKU_USER, this.config.pin)
      } catch (err) {
        if ((err as { code?: unknown }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
          try { module.C_CloseSession(session) } catch {}
          throw hsmError(err, `logging in to token "${token}"`)
        }
      }
      this.sessions.set(token, session)
    }
    return { module, session }
  }

  /**
   * Drops a token's session after a failure, so the next operation opens and
   * logs in again (a token removed and put back, an HSM restarted, a session
   * closed under us) instead of failing on a dead handle forever.
   */
  forget (token: string): void {
    const session = this.sessions.get(token)
    this.sessions.delete(token)
    if (session !== undefined && this.module !== undefined) {
      try { this.module.C_CloseSession(session) } catch {}
    }
  }

  close (): void {
    if (this.module === undefined) return
    for (const session of this.sessions.values()) {
      try { this.module.C_CloseSession(session) } catch {}
    }
    this.sessions.clear()
    try { this.module.C_Finalize() } catch {}
    try { this.module.close() } catch {}
    this.module = undefined
  }

  private load (): Pkcs11 {
    if (this.module !== undefined) return this.module
    const pkcs11js = ck()
    const module = new pkcs11js.PKCS11()
    try {
      module.load(this.config.modulePath)
    } catch {
      // The loader's message names the path; the operator knows which variable holds it.
      throw new CertsError('CERTS_ERR_HSM_UNAVAILABLE', 'the PKCS#11 module in MQGATE_PKCS11_MODULE could not be loaded')
    }
    try {
      module.C_Initialize()
    } catch (err) {
      if ((err as { code?: unknown }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw hsmError(err, 'initialising the PKCS#11 module')
    }
    this.module = module
    return module
  }

  private slotOf (module: Pkcs11, token: string): Handle {
    try {
      for (const slot of module.C_GetSlotList(true)) {
        // Token labels are 32 bytes padded with blanks (PKCS#11 3.0 CK_TOKEN_INFO).
        if (module.C_GetTokenInfo(slot).label.replace(/[\s\0]+$/, '') === token) return slot
      }
    } catch (err) { throw hsmError(err, 'listing the tokens') }
    throw new CertsError('CERTS_ERR_HSM_UNAVAILABLE', `no PKCS#11 token labelled "${token}" is present`)
  }
}
