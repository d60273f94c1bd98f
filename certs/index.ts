/** The PKI's public surface: other parts import from here only. */
export { CertsError, isCertsError, type CertsErrorCode } from './errors.js'
export { NAME_PATTERN, ORG_PATTERN, isValidName, isValidOrgId, fileNameForCommonName, parseIdentityName, type IdentityName } from './names.js'
export {
  inspectCertificate, splitPemCertificates, isWithinValidity, allowsClientAuth, keyMatchesCertificate,
  OID_CLIENT_AUTH, OID_SERVER_AUTH, type CertificateFacts
} from './certificate-facts.js'
export { buildCertificate, generateKeyPair, randomSerial, serialFrom, type CertificateSpec, type KeyPairPem, type AltName, type SubjectAttribute } from './x509-builder.js'
export { createManagedCa, createServerCertificate, createClientCertificate, PROFILE_DAYS, type Signer } from './profiles.js'
export {
  activeServerCertOf, managedCaOf, trustedCasOf, normalizeSerial,
  type CaRecord, type OrgRecord, type OrgState, type ServerCertRecord, type RevocationRecord, type GatewayScopeRecord, type IssuedCertRecord, type CrlRecord
} from './records.js'
export type { RegistryStore } from './registry-store.js'
export { FileRegistryStore } from './file-registry-store.js'
export { RedisRegistryStore } from './redis-registry-store.js'
export { OrgRegistry, type RegistryOptions, type Actor } from './org-registry.js'
export { ensureDemoBootstrap, DEMO_ORG, DEMO_IDENTITIES, type BootstrapFiles } from './bootstrap.js'
export { writeFileAtomic } from './atomic-file.js'
export { openRegistry, openRegistryStore, type OpenRegistryOptions } from './open-registry.js'
export { kekFromBase64, kekFromBytes, keyRing, KEK_BYTES, type Kek, type KeyRing } from './at-rest/kek.js'
export { EncryptingRegistryStore } from './at-rest/encrypting-registry-store.js'
export { sealStoredKeys, type SealMode } from './at-rest/seal-stored-keys.js'
export { isSealed, BLOB_PREFIX } from './at-rest/key-blob.js'
export { addCa, setCaEnabled, removeCa, loadCrl, findCa } from './ca-admin.js'
export { createServerCsr, uploadServerCert, activateServerCert } from './server-cert-admin.js'
export { issueClientCert, listIssued, findIssued, revokeCert, restoreCert, issuedStateOf, type Issued, type IssuedState } from './issuer.js'
export { setGatewayDevices, gatewayScopeOf } from './gateway-scopes.js'
export { spkiPin } from './pins.js'
export { pinsOf } from './pin-report.js'
export { createCsr, readCsr } from './csr.js'
export { readCertificates, readSingleCertificate } from './certificate-input.js'
export { startAdminApi, type AdminApiConfig, type RunningAdminApi, type RoutePlugin } from './admin-api/admin-server.js'
export { ensureAdminCredentials, adminCaFile, adminTokenFile, type AdminCredentials } from './admin-api/admin-credentials.js'
export { toPkcs12 } from './pkcs12.js'
export { TLS_HARDENING } from './tls-hardening.js'
export { buildOrgCrl, crlToPem } from './crl-builder.js'
export { expiriesOf, type Expiry } from './expiry-report.js'
