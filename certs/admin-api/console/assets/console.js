// The console's one script (no inline script anywhere: the Content-Security-Policy allows none).
// A file dropped on a [data-drop-target] zone, or chosen in an input[data-file-target], is read here
// and put into the hidden field it names: PEM as text, anything else (DER) as base64 of its bytes,
// which the admin API reads either way. The field's data-after-load names a button to press next
// (the CA preview). The file's content is never put where the page shows it.
'use strict'

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
  field.value = text.includes('-----BEGIN ') ? text : base64Of(bytes)
  const name = document.getElementById(fieldId + '-name')
  if (name !== null) name.textContent = 'Loaded ' + file.name + ' (' + bytes.length + ' bytes)'
  const pasted = field.form && field.form.querySelector('textarea')
  if (pasted) pasted.value = ''
  const next = field.dataset.afterLoad && document.getElementById(field.dataset.afterLoad)
  if (next) next.click()
}

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
