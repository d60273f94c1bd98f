/** The value of the first labelled sample of `name` in Prometheus text that has all of `labels`, or undefined. */
export function sample (text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  const line = text.split('\n').find(l => l.startsWith(name + '{') && wanted.every(w => l.includes(w)))
  return line === undefined ? undefined : Number(line.split(' ').pop())
}
