import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { Redis } from 'ioredis'
import { makeTempDir } from './temp-dir.js'

/**
 * A private redis-server on a free port, started for the tests and stopped
 * after them: tests never touch a Redis they did not start. `restart` keeps
 * the same port and data (AOF on), as an operator's restart would.
 */
export interface TestRedis {
  readonly url: string
  readonly port: number
  /** The server's --dir: its AOF (appendonlydir/) and any RDB it saves. */
  readonly dir: string
  /** A fresh connection (closed by the caller). */
  connect (): Redis
  /** Stops the server, keeping its data and port for restart(). */
  halt (): Promise<void>
  restart (): Promise<void>
  stop (): Promise<void>
}

export function redisServerAvailable (): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}

/**
 * `appendfsync always` by default: a test that kills Redis loses nothing it
 * acknowledged. The bench runs `everysec`, as docker-compose.yml does.
 */
export async function startTestRedis (options: { appendfsync?: 'always' | 'everysec' } = {}): Promise<TestRedis> {
  if (!redisServerAvailable()) {
    throw new Error('redis-server is not installed; .ci/run installs it (apt-get install redis-server)')
  }
  const port = await freePort()
  const temp = await makeTempDir('redis')
  const fsync = options.appendfsync ?? 'always'
  let child = await launch(port, temp.dir, fsync)
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir: temp.dir,
    connect: () => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null }),
    async halt () {
      await shutdown(child)
    },
    async restart () {
      await shutdown(child)
      child = await launch(port, temp.dir, fsync)
    },
    async stop () {
      await shutdown(child)
      await temp.remove()
    }
  }
}

async function launch (port: number, dir: string, fsync: string): Promise<ChildProcess> {
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'yes', '--appendfsync', fsync, '--daemonize', 'no'
  ], { stdio: 'ignore' })
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`)
    if (await answersPing(port)) return child
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  throw new Error('redis-server did not start within 10 s')
}

async function answersPing (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
    socket.once('data', data => { socket.destroy(); resolve(data.toString().startsWith('+PONG')) })
    socket.once('error', () => resolve(false))
  })
}

async function shutdown (child: ChildProcess): Promise<void> {
  // A child ended by a signal has a null exitCode, and emits 'exit' no more.
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>(resolve => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/** Ports handed out lately: the kernel may give a just-closed port again to the next caller. */
const handedOut: number[] = []

export async function freePort (): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo
        server.close(() => resolve(port))
      })
    })
    if (handedOut.includes(port)) continue
    handedOut.push(port)
    if (handedOut.length > 256) handedOut.shift()
    return port
  }
}
