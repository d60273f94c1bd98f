import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mintCa } from '../../test/support/pki.js'
import { startTempsRecorder } from '../../test/support/temps-recorder.js'

/** A POST the temps API received: the body's `device` and `time`. */
export type ForwardedPost = readonly [device: string, time: string]

/** The recording temps API (test/support/temps-recorder.ts), run in a child process. */
export interface RecorderProcess {
  readonly pid: number
  readonly url: string
  readonly caFile: string
  /** What it received since the last take (the caller splices it). */
  readonly posts: ForwardedPost[]
  /** Trusts the bridge's client certificates from this CA (the recorder restarts on its port). */
  trust (caPem: string): Promise<void>
  close (): Promise<void>
}

type Message = { type: 'ready', url: string, caFile: string } | { type: 'trusted' } | { type: 'posts', posts: ForwardedPost[] }

/**
 * In a process of its own rather than the soak's: the soak's event loop runs
 * a thousand clients and falls seconds behind on a busy machine, and a temps
 * API that answers late makes the bridge's requests time out, which would
 * measure the load generator, not the gateway.
 */
export async function forkRecorder (): Promise<RecorderProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const posts: ForwardedPost[] = []
  const next = async (type: Message['type']): Promise<Message> => await new Promise((resolve, reject) => {
    const onMessage = (message: Message): void => {
      if (message.type !== type) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(message)
    }
    const onExit = (): void => reject(new Error('the temps recorder process exited'))
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
  child.on('message', (message: Message) => { if (message.type === 'posts') for (const post of message.posts) posts.push(post) })
  const ready = await next('ready') as Extract<Message, { type: 'ready' }>
  return {
    pid: child.pid as number,
    url: ready.url,
    caFile: ready.caFile,
    posts,
    async trust (caPem) {
      const trusted = next('trusted')
      child.send({ type: 'trust', caPem })
      await trusted
    },
    async close () {
      await stopChild(child)
    }
  }
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise(resolve => { child.once('exit', resolve); child.send({ type: 'close' }) })
}

/** The child: the recorder, its POSTs sent to the parent twice a second as (device, time) pairs. */
async function runChild (): Promise<void> {
  // A placeholder CA until the parent knows the demo organisation's.
  const recorder = await startTempsRecorder(mintCa('soak placeholder').certPem)
  const send = (message: Message): void => { process.send?.(message) }
  const timer = setInterval(() => {
    const taken = recorder.posts.splice(0)
    if (taken.length > 0) send({ type: 'posts', posts: taken.map(p => [String(p.body?.device), String(p.body?.time)]) })
  }, 500)
  process.on('message', (message: { type: string, caPem?: string }) => {
    if (message.type === 'trust') void recorder.trust(message.caPem as string).then(() => send({ type: 'trusted' }))
    if (message.type === 'close') {
      clearInterval(timer)
      void recorder.close().then(() => process.exit(0))
    }
  })
  // The parent gone (killed), nothing is left behind.
  process.on('disconnect', () => { void recorder.close().then(() => process.exit(0)) })
  send({ type: 'ready', url: recorder.url, caFile: recorder.caFile })
}

if (process.argv[2] === '--child' && process.argv[1] === fileURLToPath(import.meta.url)) await runChild()
