import { BlockList, isIP } from 'node:net'

/**
 * MQGATE_CRL_FETCH_ALLOW: where the CRL fetcher and the OCSP check of `ca
 * ocsp on` may connect. A distribution point or AIA responder URL comes from
 * a certificate, i.e. from whoever made it, so without a list the gateway
 * could be sent to its own admin port or a cloud metadata address. Entries,
 * comma separated:
 * - an IP address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`): the
 *   address the host name resolves to must fall inside one;
 * - a host name (`crl.example.com`) or a domain wildcard (`*.example.com`):
 *   the URL's host must be that name; it may then resolve anywhere (the
 *   operator trusts that name's DNS).
 */
export class FetchAllowList {
  private readonly addresses = new BlockList()
  private readonly names: string[] = []
  private readonly suffixes: string[] = []

  constructor (readonly entries: readonly string[]) {
    for (const entry of entries) {
      const problem = allowEntryProblem(entry)
      if (problem !== undefined) throw new Error(problem)
      const [address, bits] = entry.split('/')
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
      if (bits !== undefined) this.addresses.addSubnet(address, Number(bits), family)
      else if (isIP(address) !== 0) this.addresses.addAddress(address, family)
      else if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1).toLowerCase())
      else this.names.push(entry.toLowerCase())
    }
  }

  /** The URL's host name is allowed as such. */
  allowsName (host: string): boolean {
    const name = host.toLowerCase()
    return this.names.includes(name) || this.suffixes.some(suffix => name.endsWith(suffix))
  }

  allowsAddress (address: string): boolean {
    const family = isIP(address)
    return family !== 0 && this.addresses.check(address, family === 6 ? 'ipv6' : 'ipv4')
  }
}

const NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i

/** Why one entry of MQGATE_CRL_FETCH_ALLOW is not usable; undefined when it is. */
export function allowEntryProblem (entry: string): string | undefined {
  const [address, bits, extra] = entry.split('/')
  if (extra !== undefined) return `"${entry}" is not an address, a CIDR block or a host name`
  if (bits !== undefined) {
    const max = isIP(address) === 4 ? 32 : isIP(address) === 6 ? 128 : -1
    if (max < 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}" is not a CIDR block`
    return undefined
  }
  if (isIP(address) !== 0 || NAME.test(entry)) return undefined
  return `"${entry}" is not an address, a CIDR block or a host name`
}
