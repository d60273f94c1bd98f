/** The PKI's public surface: other parts import from here only. */
export { CertsError, isCertsError, type CertsErrorCode } from './errors.js'
export { NAME_PATTERN, ORG_PATTERN, isValidName, isValidOrgId, fileNameForCommonName } from './names.js'
export {
  inspectCertificate, splitPemCertificates, isWithinValidity, allowsClientAuth, keyMatchesCertificate,
  OID_CLIENT_AUTH, OID_SERVER_AUTH, type CertificateFacts
} from './certificate-facts.js'
export { buildCertificate, generateKeyPair, randomSerial, type CertificateSpec, type KeyPairPem, type AltName, type SubjectAttribute } from './x509-builder.js'
export { createManagedCa, createServerCertificate, createClientCertificate, PROFILE_DAYS, type Signer } from './profiles.js'
export { activeServerCertOf, managedCaOf, trustedCasOf, type CaRecord, type OrgRecord, type OrgState, type ServerCertRecord } from './records.js'
export type { RegistryStore } from './registry-store.js'
export { FileRegistryStore } from './file-registry-store.js'
export { RedisRegistryStore } from './redis-registry-store.js'
export { OrgRegistry, type RegistryOptions } from './org-registry.js'
export { ensureDemoBootstrap, DEMO_ORG, DEMO_IDENTITIES, type BootstrapFiles } from './bootstrap.js'
export { writeFileAtomic } from './atomic-file.js'
export { openRegistry } from './open-registry.js'
