import { CONSOLE_ROUTE } from '../../access.js'
import { queryFields } from '../form-fields.js'
import type { ConsolePage } from './index.js'

/**
 * The bridge's dead letters (readings it could not deliver), newest first,
 * read-only. `GET /readings/dead-letters` is admin-only (it spans every
 * organisation), so another operator's request is the API's 403 page; the
 * organisations page links here only for admins.
 */
export const deadLettersPage: ConsolePage = ({ app, context }) => {
  app.get('/dead-letters', CONSOLE_ROUTE, async (request, reply) => {
    const org = (queryFields(request, ['org']).org ?? '').trim()
    const { dead_letters: letters } = await context.api(request, { method: 'GET', url: `/readings/dead-letters${org === '' ? '' : `?org=${encodeURIComponent(org)}`}` })
    return await context.render(request, reply, 'dead-letters', { title: 'Dead letters', letters, filterOrg: org })
  })
}
