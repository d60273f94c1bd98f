import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ConsoleDeps } from '../console-plugin.js'
import type { OrgPageLink, PageContext, SignedIn } from '../page-context.js'
import { accountPage } from './account-page.js'
import { auditPage } from './audit-page.js'
import { casPage } from './cas-page.js'
import { claimsPage } from './claims-page.js'
import { deadLettersPage } from './dead-letters-page.js'
import { deviceCertsPage } from './device-certs-page.js'
import { gatewaysPage } from './gateways-page.js'
import { orgsPage } from './orgs-page.js'
import { serverCertsPage } from './server-certs-page.js'
import { sessionsPage } from './sessions-page.js'
import { signInPage } from './sign-in-page.js'

/**
 * Every page of the console, one file each. To add one (see README, Console):
 *  1. pages/<name>-page.ts: a ConsolePage registering its routes on `app`
 *     with CONSOLE_ROUTE (access.ts); its handlers act only through
 *     `context.api(request, { method, url, body })`, so the admin API's
 *     access check decides (a refusal becomes the error page, with its code)
 *  2. templates/<name>.eta: `<% layout('layout', it) %>` first; every form
 *     that changes something carries `<%~ include('csrf', it) %>`
 *  3. list it below; an organisation's page also goes in ORG_PAGE_LINKS
 *     (the organisation's navigation)
 * The session and the CSRF token are checked before any handler runs
 * (console-plugin.ts); the security headers are added to every answer.
 */
export interface PageDeps {
  readonly app: FastifyInstance
  readonly context: PageContext
  readonly deps: ConsoleDeps
  readonly whoOf: (request: FastifyRequest) => SignedIn
}

export type ConsolePage = (page: PageDeps) => void

export const CONSOLE_PAGES: readonly ConsolePage[] = [signInPage, orgsPage, casPage, serverCertsPage, deviceCertsPage, sessionsPage, auditPage, claimsPage, gatewaysPage, deadLettersPage, accountPage]

export const ORG_PAGE_LINKS: readonly OrgPageLink[] = [
  { path: 'cas', title: 'CAs' },
  { path: 'server-certs', title: 'Server certificates' },
  { path: 'device-certs', title: 'Device certificates' },
  { path: 'sessions', title: 'Live sessions' },
  { path: 'audit', title: 'Audit log' },
  { path: 'claims', title: 'Claims and tokens' },
  { path: 'gateways', title: 'Gateways' }
]
