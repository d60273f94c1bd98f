import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchServerCert, type Target } from '../targets.js'

const FLOOR_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'floor-server.js')

/** The floor server (floor-server.ts) as a bench target, pinned to core 0 like the others, trusting `clientCaPem` for client certificates. */
export async function startFloor (clientCaPem: string): Promise<Target> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'floor-bench-'))
  const server = await benchServerCert('floor-bench')
  const files = { FLOOR_KEY: path.join(dir, 'server.key'), FLOOR_CERT: path.join(dir, 'server.crt'), FLOOR_CLIENT_CA: path.join(dir, 'clients-ca.pem') }
  writeFileSync(files.FLOOR_KEY, server.keyPem, { mode: 0o600 })
  writeFileSync(files.FLOOR_CERT, server.certPem)
  writeFileSync(files.FLOOR_CLIENT_CA, clientCaPem)
  // taskset execs node: the child's pid is the server's; -a would miss threads started later, so the whole process is started pinned.
  const child = spawn('taskset', ['-c', '0', process.execPath, FLOOR_SERVER], { env: { ...process.env, ...files }, stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', chunk => {
      out += String(chunk)
      const match = /port (\d+)/.exec(out)
      if (match !== null) resolve(Number(match[1]))
    })
    child.once('exit', code => reject(new Error(`the floor server exited (${String(code)})`)))
  })
  return {
    name: 'node:tls floor',
    mqttPort: port,
    caPem: server.caPem,
    pids: () => [child.pid as number],
    clientId: (kind, type, id) => `${kind}-${type}-${id}`,
    eventTopic: (type, id, event) => `iot-2/type/${type}/id/${id}/evt/${event}/fmt/json`,
    async stop () {
      if (child.exitCode === null) await new Promise(resolve => { child.once('exit', resolve); child.kill('SIGTERM') })
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
