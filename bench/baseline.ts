/**
 * The figures issue 15 starts from: `npm run bench -- --quick` on
 * 2026-12-01, mqgate and Mosquitto 2.0.11 in one run, each pinned to core 0
 * of a 2-vCPU machine. Every run prints its figures beside these, so that a
 * change is read against the same starting point and not against a README
 * that a later run rewrote.
 */
export const BASELINE_DATE = '2026-12-01'

/** One figure per target, as the table gives it (absent: not in it). */
export interface Figure {
  readonly mqgate?: number
  readonly mqgateRedis?: number
  readonly mosquitto?: number
  /** The bench's floor (bench/floor/): Node's TLS and MQTT framing with no broker behind them. Not in the table. */
  readonly floor?: number
}

export const BASELINE = {
  connect: { mqgate: 3000, mqgateRedis: 4850, mosquitto: 1100 },
  resumed: { mqgate: 1500, mqgateRedis: 2950, mosquitto: 1000 },
  qos0: { mqgate: 8.71, mqgateRedis: 42.4, mosquitto: 4.62 },
  qos1: { mqgate: 16.1, mqgateRedis: 51.6, mosquitto: 9.15 },
  rated: { mqgate: 52.5, mqgateRedis: 126, mosquitto: 21.3 },
  idle: { mqgate: 44_081, mosquitto: 15_978 },
  readings: { mqgateRedis: 496 },
  storeP99: { mqgateRedis: 118 },
  storeP99At500: { mqgateRedis: 31.8 },
  store: { mqgateRedis: 28_619 },
  /** CPU per connect, two workers ÷ one worker, both on Redis. */
  workersRatio: { mqgateRedis: 2.13 }
} as const satisfies Record<string, Figure>
