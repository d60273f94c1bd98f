/**
 * Where `mqgate operator password` reads the new password: never from argv
 * (any user sees argv in `ps`) nor the environment (inherited by children).
 * From a terminal it is typed twice, not echoed; from a pipe it is the first
 * line (its line ending dropped, nothing else: spaces may be part of it).
 */
export async function readNewPassword (input: NodeJS.ReadStream, prompt: (text: string) => void): Promise<string> {
  if (input.isTTY !== true) return firstLine(await readAll(input))
  const first = await typeHidden(input, prompt, 'New password: ')
  const again = await typeHidden(input, prompt, 'The same again: ')
  if (first !== again) throw new PasswordInputError('the two passwords differ')
  return first
}

/** The input failed before anything reached the API: the verb exits with this message. */
export class PasswordInputError extends Error {
  override readonly name = 'PasswordInputError'
}

async function readAll (input: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of input) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks).toString('utf8')
}

function firstLine (text: string): string {
  return /^([^\r\n]*)/.exec(text)?.[1] ?? ''
}

/** One line from the terminal in raw mode, so the characters are not echoed; Ctrl-C and Ctrl-D abort. */
async function typeHidden (input: NodeJS.ReadStream, prompt: (text: string) => void, label: string): Promise<string> {
  prompt(label)
  input.setRawMode(true)
  input.resume()
  input.setEncoding('utf8')
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = ''
      const onData = (keys: string): void => {
        for (const key of keys) {
          if (key === '\r' || key === '\n') { input.off('data', onData); prompt('\n'); resolve(typed); return }
          if (key === '\u0003' || key === '\u0004') { input.off('data', onData); prompt('\n'); reject(new PasswordInputError('aborted')); return }
          typed = key === '\u007f' || key === '\b' ? [...typed].slice(0, -1).join('') : typed + key
        }
      }
      input.on('data', onData)
    })
  } finally {
    input.setRawMode(false)
    input.pause()
  }
}
