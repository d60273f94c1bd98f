// The console's one script (no inline script anywhere: the Content-Security-Policy allows none).
// A file dropped on a [data-drop-target] zone, or chosen in an input[data-file-target], is read here
// and put into the hidden field it names: PEM as text, anything else (DER) as base64 of its bytes,
// which the admin API reads either way. The field's data-after-load names a button to press next
// (the CA preview). The file's content is never put where the page shows it.
'use strict'

// A private key in a CA file is refused by the server (CERTS_ERR_CA_KEY_INCLUDED, with the CLI's message,
// which names the key's kind from its PEM label). Only the label is needed for that, so the key's body
// is dropped here, in the browser: like `mqgate ca add`, the console never sends a CA's key anywhere.
// The label list is certs/included-key.ts's.
const PRIVATE_KEY_BLOCK = /(-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----)[\s\S]*?(-----END \2PRIVATE KEY-----)/g

function withoutKeys (text) {
  return text.replace(PRIVATE_KEY_BLOCK, '$1\n(key removed by the console: it is not sent)\n$3')
}

function base64Of (bytes) {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

async function loadFile (file, fieldId) {
  const field = document.getElementById(fieldId)
  if (file === undefined || field === null) return
  const bytes = new Uint8Array(await file.arrayBuffer())
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes)
  // data-keep-keys: the field is a key's own (a server certificate's key, sent to the API as `server-cert upload --key` does).
  const keep = field.hasAttribute('data-keep-keys')
  field.value = text.includes('-----BEGIN ') ? (keep ? text : withoutKeys(text)) : base64Of(bytes)
  const name = document.getElementById(fieldId + '-name')
  if (name !== null) name.textContent = 'Loaded ' + file.name + ' (' + bytes.length + ' bytes)'
  const pasted = field.dataset.pasted ? document.getElementById(field.dataset.pasted) : field.form && field.form.querySelector('textarea')
  if (pasted) pasted.value = ''
  const next = field.dataset.afterLoad && document.getElementById(field.dataset.afterLoad)
  if (next) next.click()
}

// Pasted text likewise: the key is taken out of the field as soon as it is pasted.
document.addEventListener('input', function (event) {
  const field = event.target
  if (field.matches && field.matches('textarea[data-strip-keys]') && PRIVATE_KEY_BLOCK.test(field.value)) field.value = withoutKeys(field.value)
  PRIVATE_KEY_BLOCK.lastIndex = 0
})

document.addEventListener('change', function (event) {
  const input = event.target
  if (input.matches && input.matches('input[type=file][data-file-target]')) void loadFile(input.files[0], input.dataset.fileTarget)
})

function zoneOf (event) {
  return event.target.closest ? event.target.closest('[data-drop-target]') : null
}

document.addEventListener('dragover', function (event) {
  const zone = zoneOf(event)
  if (zone === null) return
  event.preventDefault()
  zone.classList.add('dragging')
})

document.addEventListener('dragleave', function (event) {
  const zone = zoneOf(event)
  if (zone !== null) zone.classList.remove('dragging')
})

document.addEventListener('drop', function (event) {
  const zone = zoneOf(event)
  if (zone === null) return
  event.preventDefault()
  zone.classList.remove('dragging')
  void loadFile(event.dataTransfer.files[0], zone.dataset.dropTarget)
})

// A [data-copy] button copies the text of the element it names (the SPKI pins) and says so beside it.
document.addEventListener('click', function (event) {
  const button = event.target.closest ? event.target.closest('button[data-copy]') : null
  if (button === null) return
  const source = document.getElementById(button.dataset.copy)
  const status = document.getElementById(button.dataset.copy + '-copied')
  if (source === null) return
  const said = function (text) { if (status !== null) status.textContent = text }
  navigator.clipboard.writeText(source.textContent.trim()).then(function () { said('Copied') }, function () { said('Copy failed: select the text and copy it') })
})
