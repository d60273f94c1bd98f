import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { failed } from './cloudflare-views.js'
import { consoleErrorPage } from './console/error-page.js'
import { addSecurityHeaders } from './console/security.js'
import { errorBody, routerFailureOf } from './http-errors.js'

/** Under /console: the web console's (console/console-plugin.ts). */
export function isConsoleUrl (url: string): boolean {
  return url === '/console' || url.startsWith('/console/') || url.startsWith('/console?')
}

/** Under /client/v4: Cloudflare's API, whose clients read every answer in its envelope, refusals included. */
export function isCloudflareUrl (url: string): boolean {
  return url.startsWith('/client/v4/')
}

/**
 * fastify's `frameworkErrors` for the admin API: a URL its router refuses (a
 * malformed percent-escape, FST_ERR_BAD_URL) is answered before any route or
 * hook, so not by the error handlers or the hooks that add the headers. Here
 * it gets what any refusal of that URL would: ADMIN_ERR_BAD_REQUEST with a log
 * line, no-store, and the envelope of where it points (the console's error
 * page with its security headers, Cloudflare's envelope, or mqgate's).
 */
export function createFrameworkErrorHandler (log: Logger) {
  return function handleFrameworkError (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    const failure = routerFailureOf(err, request, log)
    void reply.status(failure.status).header('cache-control', 'no-store')
    if (isConsoleUrl(request.url)) {
      addSecurityHeaders(reply)
      void reply.type('text/html; charset=utf-8').send(consoleErrorPage(failure))
      return
    }
    void reply.send(isCloudflareUrl(request.url) ? failed(failure) : errorBody(failure.code, failure.message))
  }
}
