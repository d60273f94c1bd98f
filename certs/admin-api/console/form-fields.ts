import type { FastifyRequest } from 'fastify'
import { ApiRefusal } from './page-context.js'

/** The fields a page reads, each a string when given. */
export type Fields<K extends string> = { readonly [P in K]?: string }

/**
 * The named fields of a console POST's form (or JSON body), each as one
 * string. The console's routes have no body schema: a form field given twice
 * arrives as an array, a JSON body may carry numbers or objects, and a POST
 * with its CSRF token in the header may carry no body at all. Each of those
 * used to reach a page's `.trim()` or the PKCS#12 encoder as a 500 (one after
 * a certificate was issued, its generated key lost), so every page reads its
 * fields here, before acting: absent is absent, anything but one string is
 * refused (400 ADMIN_ERR_BAD_REQUEST, the console's error page). Fields not
 * named (`_csrf`, a browser's extras) are left alone.
 */
export function formFields<K extends string> (request: FastifyRequest, names: readonly K[]): Fields<K> {
  return stringFields(request.body, names, 'form')
}

/** The same for a console page's query string (`?q=a&q=b` arrives as an array too). */
export function queryFields<K extends string> (request: FastifyRequest, names: readonly K[]): Fields<K> {
  return stringFields(request.query, names, 'query')
}

function stringFields<K extends string> (source: unknown, names: readonly K[], where: 'form' | 'query'): Fields<K> {
  if (source === undefined || source === null) return {}
  if (typeof source !== 'object' || Array.isArray(source)) throw new ApiRefusal(400, 'ADMIN_ERR_BAD_REQUEST', `the ${where} must be a set of named fields`)
  const fields: Partial<Record<K, string>> = {}
  for (const name of names) {
    if (!Object.prototype.hasOwnProperty.call(source, name)) continue
    const value = (source as Record<string, unknown>)[name]
    if (value === undefined) continue
    if (typeof value !== 'string') throw new ApiRefusal(400, 'ADMIN_ERR_BAD_REQUEST', `the ${where} field ${name} must be given once, as text`)
    fields[name] = value
  }
  return fields
}
