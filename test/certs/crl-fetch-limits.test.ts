import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { DEFAULT_CRL_FETCH_LIMITS, FetchAllowList, fetchCrlBytes, isCertsError, type CertsErrorCode, type CrlFetchLimits } from '../../certs/index.js'
import { loadConfig } from '../../config/gateway-config.js'
import { freePort } from '../support/redis-server.js'

/**
 * A CRL distribution point URL is data from a certificate: whoever made it
 * chose it. The fetcher goes over http: or https: only, follows at most 3
 * redirects (each checked again), reads at most 10 MiB within 10 s, and with
 * MQGATE_CRL_FETCH_ALLOW reaches only the hosts and addresses listed.
 */
describe('CRL fetch limits', function () {
  this.timeout(20_000)
  let server: http.Server
  let base: string
  const body = Buffer.alloc(2048, 0x30)

  before(async () => {
    server = http.createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x')
      switch (url.pathname) {
        case '/ok': response.end(body); break
        case '/large': response.end(Buffer.alloc(4096)); break
        // No content-length: the size is only known by reading.
        case '/large-chunked': response.write(Buffer.alloc(3000)); response.end(Buffer.alloc(3000)); break
        case '/silent': break
        case '/trickle': response.write('0'); break
        case '/to-file': response.writeHead(302, { location: 'file:///etc/passwd' }).end(); break
        case '/to-gopher': response.writeHead(301, { location: 'gopher://127.0.0.1/' }).end(); break
        case '/loop': response.writeHead(302, { location: `/loop?n=${Number(url.searchParams.get('n') ?? 0) + 1}` }).end(); break
        case '/hop': response.writeHead(307, { location: `/hop2?n=${Number(url.searchParams.get('n') ?? 0)}` }).end(); break
        case '/hop2': response.writeHead(302, { location: '/ok' }).end(); break
        case '/elsewhere': response.writeHead(302, { location: `http://127.0.0.2:${(server.address() as AddressInfo).port}/ok` }).end(); break
        case '/error': response.writeHead(500).end(); break
        case '/private': response.writeHead(request.headers.authorization === `Basic ${Buffer.from('crl:p@ss').toString('base64')}` ? 200 : 401).end(body); break
        default: response.writeHead(404).end()
      }
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })

  const limits = (extra: Partial<CrlFetchLimits> = {}): CrlFetchLimits => ({ ...DEFAULT_CRL_FETCH_LIMITS, maxBytes: 2048, timeoutMs: 1500, ...extra })

  async function refusal (url: string, options: CrlFetchLimits): Promise<CertsErrorCode> {
    try {
      await fetchCrlBytes(url, options)
    } catch (err) {
      assert.ok(isCertsError(err), String(err))
      return err.code
    }
    assert.fail(`${url} was fetched`)
  }

  it('fetches an answer within the limits, following up to 3 redirects', async () => {
    assert.deepEqual(await fetchCrlBytes(`${base}/ok`, limits()), body)
    assert.deepEqual(await fetchCrlBytes(`${base}/hop`, limits()), body)
  })

  it('refuses an answer over the size limit (CERTS_ERR_CRL_FETCH_TOO_LARGE), announced or not', async () => {
    assert.equal(await refusal(`${base}/large`, limits()), 'CERTS_ERR_CRL_FETCH_TOO_LARGE')
    assert.equal(await refusal(`${base}/large-chunked`, limits()), 'CERTS_ERR_CRL_FETCH_TOO_LARGE')
  })

  it('gives up on a server that does not answer, or answers too slowly (CERTS_ERR_CRL_FETCH_TIMEOUT)', async () => {
    assert.equal(await refusal(`${base}/silent`, limits({ timeoutMs: 500 })), 'CERTS_ERR_CRL_FETCH_TIMEOUT')
    assert.equal(await refusal(`${base}/trickle`, limits({ timeoutMs: 500 })), 'CERTS_ERR_CRL_FETCH_TIMEOUT')
  })

  it('refuses other schemes, first or after a redirect (CERTS_ERR_CRL_FETCH_SCHEME)', async () => {
    assert.equal(await refusal('file:///etc/passwd', limits()), 'CERTS_ERR_CRL_FETCH_SCHEME')
    assert.equal(await refusal(`${base}/to-file`, limits()), 'CERTS_ERR_CRL_FETCH_SCHEME')
    assert.equal(await refusal(`${base}/to-gopher`, limits()), 'CERTS_ERR_CRL_FETCH_SCHEME')
  })

  it('stops after 3 redirects (CERTS_ERR_CRL_FETCH_REDIRECTS)', async () => {
    assert.equal(await refusal(`${base}/loop`, limits()), 'CERTS_ERR_CRL_FETCH_REDIRECTS')
  })

  it('reports a status other than 200, and a server that cannot be reached, with their codes', async () => {
    assert.equal(await refusal(`${base}/error`, limits()), 'CERTS_ERR_CRL_FETCH_STATUS')
    assert.equal(await refusal(`http://127.0.0.1:${await freePort()}/x.crl`, limits()), 'CERTS_ERR_CRL_FETCH_FAILED')
  })

  it('sends the credentials a source URL carries (user:password@) as Basic auth', async () => {
    assert.equal(await refusal(`${base}/private`, limits()), 'CERTS_ERR_CRL_FETCH_STATUS')
    assert.deepEqual(await fetchCrlBytes(`${base.replace('//', '//crl:p%40ss@')}/private`, limits()), body)
  })

  it('with an allow-list, reaches only the addresses and names listed, redirects included (CERTS_ERR_CRL_FETCH_NOT_ALLOWED)', async () => {
    const port = (server.address() as AddressInfo).port
    assert.equal(await refusal(`${base}/ok`, limits({ allow: new FetchAllowList(['10.0.0.0/8', 'crl.example.com']) })), 'CERTS_ERR_CRL_FETCH_NOT_ALLOWED')
    // localhost resolves to loopback, which the list does not hold.
    assert.equal(await refusal(`http://localhost:${port}/ok`, limits({ allow: new FetchAllowList(['192.0.2.0/24']) })), 'CERTS_ERR_CRL_FETCH_NOT_ALLOWED')
    const loopback = new FetchAllowList(['127.0.0.1/32'])
    assert.deepEqual(await fetchCrlBytes(`${base}/ok`, limits({ allow: loopback })), body)
    assert.equal(await refusal(`${base}/elsewhere`, limits({ allow: loopback })), 'CERTS_ERR_CRL_FETCH_NOT_ALLOWED')
    assert.deepEqual(await fetchCrlBytes(`http://localhost:${port}/ok`, limits({ allow: new FetchAllowList(['localhost']) })), body)
  })

  it('reads MQGATE_CRL_FETCH_ALLOW, refusing an entry that is no address, block or name', () => {
    assert.deepEqual(loadConfig({ MQGATE_CRL_FETCH_ALLOW: '10.0.0.0/8, crl.example.com,*.pki.example.net,2001:db8::/32' }).crlFetchAllow,
      ['10.0.0.0/8', 'crl.example.com', '*.pki.example.net', '2001:db8::/32'])
    assert.equal(loadConfig({}).crlFetchAllow, undefined)
    for (const bad of ['10.0.0.0/33', 'http://crl.example.com', 'a b', ',']) {
      assert.throws(() => loadConfig({ MQGATE_CRL_FETCH_ALLOW: bad }), (err: any) => err.code === 'CONFIG_ERR_INVALID' && err.message.includes('MQGATE_CRL_FETCH_ALLOW'), bad)
    }
  })
})
