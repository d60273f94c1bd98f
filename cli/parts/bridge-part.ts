import { readFileSync } from 'node:fs'
import { startBridge } from '../../bridge/index.js'
import type { PartContext } from './context.js'

/** The bridge: readings from the broker's queue into the store and the temps API. */
export async function bridgePart ({ cfg, log, registry, backend, ports, onClose }: PartContext): Promise<void> {
  const bridge = startBridge(cfg.bridge, {
    backend,
    registry,
    log,
    files: {
      ...(cfg.bridge.certFile === undefined || cfg.bridge.keyFile === undefined
        ? {}
        : { clientTls: { certPem: readFileSync(cfg.bridge.certFile, 'utf8'), keyPem: readFileSync(cfg.bridge.keyFile, 'utf8') } }),
      ...(cfg.bridge.tempsCaFile === undefined ? {} : { tempsCaPem: readFileSync(cfg.bridge.tempsCaFile, 'utf8') })
    },
    ownTempsUrl: `https://127.0.0.1:${ports.api ?? cfg.api.port}/devices/{type}/{id}/temps`,
    domain: cfg.broker.domain
  })
  onClose(async () => await bridge.close())
}
