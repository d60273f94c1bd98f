/** The lengths String.prototype.normalize was called on while `work` ran (it is synchronous on the event loop, quadratic on runs of combining marks). */
export async function normalisedLengths (work: () => Promise<unknown>): Promise<number[]> {
  const original = String.prototype.normalize
  const lengths: number[] = []
  String.prototype.normalize = function (this: string, form?: string) { lengths.push(this.length); return original.call(this, form) } // eslint-disable-line no-extend-native
  try {
    await work()
  } finally {
    String.prototype.normalize = original // eslint-disable-line no-extend-native
  }
  return lengths
}
