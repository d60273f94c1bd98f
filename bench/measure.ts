import { cpuMicros } from './targets.js'

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** `work`'s result with the CPU time the target's processes spent meanwhile and the wall time. */
export async function cpuDuring<T> (pids: () => number[], work: () => Promise<T>): Promise<{ result: T, cpuMicros: number, seconds: number }> {
  const processes = pids()
  const cpuBefore = cpuMicros(processes)
  const started = process.hrtime.bigint()
  const result = await work()
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return { result, cpuMicros: cpuMicros(processes) - cpuBefore, seconds }
}

export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]
}
