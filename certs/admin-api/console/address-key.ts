import { isIPv6 } from 'node:net'

/**
 * The key the sign-in limits count an address under. An IPv6 host commonly
 * holds a whole /64 (SLAAC, privacy addresses, a routed prefix), so counting
 * per address would give one guesser 2^64 fresh counts: an IPv6 address is
 * counted by its /64. An IPv4-mapped one (`::ffff:a.b.c.d`, a dual-stack
 * listener) is its IPv4 address; an IPv4 address is itself.
 */
export function addressKey (address: string): string {
  if (!isIPv6(address)) return address
  const groups = ipv6Groups(address)
  if (groups === undefined) return address
  if (groups.slice(0, 5).every(group => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.')
  }
  return `${groups.slice(0, 4).map(group => group.toString(16)).join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, an IPv4 tail as two groups, a zone dropped); undefined when it has not eight. */
function ipv6Groups (address: string): number[] | undefined {
  const bare = address.split('%')[0]
  const halves = bare.split('::')
  const groupsOf = (part: string): number[] => part === '' ? [] : part.split(':').flatMap(group => group.includes('.') ? ipv4Groups(group) : [parseInt(group, 16)])
  const head = groupsOf(halves[0])
  const tail = halves.length > 1 ? groupsOf(halves[1]) : []
  const groups = halves.length > 1 ? [...head, ...new Array<number>(Math.max(0, 8 - head.length - tail.length)).fill(0), ...tail] : head
  return groups.length === 8 && groups.every(group => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined
}

function ipv4Groups (dotted: string): number[] {
  const [a, b, c, d] = dotted.split('.').map(Number)
  return [(a << 8) | b, (c << 8) | d]
}
