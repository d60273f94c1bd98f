import type { Command } from 'commander'
import { registerCaVerbs } from './ca-verbs.js'
import { registerCertVerbs } from './cert-verbs.js'
import type { CliContext } from './cli-context.js'
import { registerEnrollmentVerbs } from './enrollment-verbs.js'
import { registerGatewayVerbs } from './gateway-verbs.js'
import { registerOperatorVerbs } from './operator-verbs.js'
import { registerOrgVerbs } from './org-verbs.js'
import { registerPinVerb } from './pin-verb.js'
import { registerServerCertVerbs } from './server-cert-verbs.js'
import { registerSessionVerbs } from './session-verbs.js'

export { AdminApiError, type ClientEnv } from './admin-client.js'
export { registerEnrollVerbs } from './enroll-verbs.js'
export { EstClientError } from '../enrollment/est-client.js'
export { registerBackupVerbs } from './registry-verbs.js'
export type { CliContext } from './cli-context.js'

/** The operator verbs, each a client of the admin API (`registry ...`, which opens the store itself, is registered by cli/). */
export function registerPkiVerbs (program: Command, ctx: CliContext): void {
  registerOrgVerbs(program, ctx)
  registerCaVerbs(program, ctx)
  registerServerCertVerbs(program, ctx)
  registerCertVerbs(program, ctx)
  registerGatewayVerbs(program, ctx)
  registerEnrollmentVerbs(program, ctx)
  registerPinVerb(program, ctx)
  registerOperatorVerbs(program, ctx)
  registerSessionVerbs(program, ctx)
}
