// After tsc: the console's templates and assets go next to its compiled code
// (dist/certs/admin-api/console/), with htmx copied from its npm package, so
// the console serves every file itself: no CDN, works offline.
import { cpSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'

const source = new URL('../certs/admin-api/console/', import.meta.url)
const target = new URL('../dist/certs/admin-api/console/', import.meta.url)
mkdirSync(new URL('assets/', target), { recursive: true })
cpSync(new URL('templates/', source), new URL('templates/', target), { recursive: true })
cpSync(new URL('assets/', source), new URL('assets/', target), { recursive: true })
cpSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'), new URL('assets/htmx.min.js', target))
