import { CONSOLE_ROUTE } from '../../access.js'
import type { ConsolePage } from './index.js'

/** The organisations the operator may see (`GET /orgs` shows only those), each linking to its pages. */
export const orgsPage: ConsolePage = ({ app, context }) => {
  app.get('/orgs', CONSOLE_ROUTE, async (request, reply) => {
    const { orgs } = await context.api(request, { method: 'GET', url: '/orgs' })
    return await context.render(request, reply, 'orgs', { title: 'Organisations', orgs })
  })
}
