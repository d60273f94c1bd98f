import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { runCommand } from './mqgate-cli.js'
import type { TestCert } from './pki.js'

/**
 * Python's paho-mqtt (Debian's python3-paho-mqtt, installed by .ci/run) as a
 * client nobody here wrote: MQTT over secure WebSocket with a client
 * certificate. The script runs in a child process, asynchronously, because
 * the gateway it talks to runs in this one.
 */

/** A python with paho importable, and paho's version; undefined when none is. */
export interface PahoPython {
  readonly python: string
  readonly version: string
}

/**
 * `python3` first; then Debian's own interpreter, since a pyenv or venv
 * python3 on PATH does not see the packages apt installs.
 */
const CANDIDATES = ['python3', '/usr/bin/python3']

export async function findPahoPython (): Promise<PahoPython | undefined> {
  for (const python of CANDIDATES) {
    const probe = await runCommand(python, ['-c', 'import paho.mqtt, paho.mqtt.client; print(paho.mqtt.__version__)']).catch(() => undefined)
    if (probe?.status === 0) return { python, version: probe.stdout.trim() }
  }
  return undefined
}

/**
 * paho 1.6 and 2.x both send the host they connect to as SNI (and send none
 * for an IP address): there is no option to name another. Their documented
 * way to bring one's own TLS settings is `tls_set_context`, so the context
 * below names the organisation's host in `wrap_socket`, and checks the
 * server certificate against that name as a client resolving it would.
 * Without `sni`, the script uses plain `tls_set` and sends no SNI.
 */
const SCRIPT = String.raw`
import json, ssl, sys, threading
import paho.mqtt.client as mqtt

a = json.loads(sys.argv[1])

class SniContext(ssl.SSLContext):
    def wrap_socket(self, sock, *args, **kwargs):
        kwargs['server_hostname'] = a['sni']
        return super().wrap_socket(sock, *args, **kwargs)

options = dict(client_id=a['clientId'], transport='websockets')
if hasattr(mqtt, 'CallbackAPIVersion'):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, **options)
else:
    client = mqtt.Client(**options)
client.ws_set_options(path='/mqtt')
if a.get('sni'):
    context = SniContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=a['ca'])
    context.load_cert_chain(a['cert'], a['key'])
    client.tls_set_context(context)
else:
    client.tls_set(ca_certs=a['ca'], certfile=a['cert'], keyfile=a['key'])

ended = threading.Event()
state = {}
def on_connect(c, userdata, flags, rc):
    state['rc'] = rc
    ended.set()
def on_disconnect(c, userdata, rc):
    state.setdefault('closed', rc)
    ended.set()
client.on_connect = on_connect
client.on_disconnect = on_disconnect

def finish(outcome, code):
    print(json.dumps(dict(outcome=outcome, **state)))
    sys.exit(code)

try:
    client.connect(a['host'], a['port'], keepalive=30)
except Exception as err:
    state['error'] = repr(err)
    finish('refused', 2)
client.loop_start()
ended.wait(10)
if state.get('rc') != 0:
    client.loop_stop()
    finish('refused', 2)
info = client.publish(a['topic'], a['payload'], qos=1)
info.wait_for_publish(10)
published = info.is_published()
client.disconnect()
client.loop_stop()
finish('published' if published else 'unacknowledged', 0 if published else 3)
`

export interface PahoPublish {
  readonly port: number
  readonly caPem: string
  readonly cert: TestCert
  readonly clientId: string
  /** The SNI name to send; none when omitted. */
  readonly sni?: string
  readonly topic: string
  readonly payload: string
}

export interface PahoResult {
  /** `published` (PUBACK received), `refused` (no CONNACK 0), or `unacknowledged`. */
  readonly outcome: string
  readonly rc?: number
  readonly error?: string
  readonly stderr: string
}

/** Connects to 127.0.0.1:port over wss with paho, publishes once at QoS 1, and reports how it ended. */
export async function pahoPublish (paho: PahoPython, dir: string, spec: PahoPublish): Promise<PahoResult> {
  const files = { ca: path.join(dir, 'paho-ca.pem'), cert: path.join(dir, 'paho-cert.pem'), key: path.join(dir, 'paho-key.pem') }
  writeFileSync(files.ca, spec.caPem)
  writeFileSync(files.cert, spec.cert.certPem)
  writeFileSync(files.key, spec.cert.keyPem, { mode: 0o600 })
  const args = { host: '127.0.0.1', port: spec.port, sni: spec.sni, clientId: spec.clientId, topic: spec.topic, payload: spec.payload, ...files }
  const run = await runCommand(paho.python, ['-c', SCRIPT, JSON.stringify(args)], { timeoutMs: 30_000 })
  const last = run.stdout.trim().split('\n').pop() ?? ''
  try {
    return { ...JSON.parse(last), stderr: run.stderr }
  } catch {
    return { outcome: `no result (exit ${String(run.status)})`, stderr: run.stderr }
  }
}
