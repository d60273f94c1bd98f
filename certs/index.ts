/** The PKI's public surface: other parts import from here only. */
export { CertsError, isCertsError, type CertsErrorCode } from './errors.js'
export { NAME_PATTERN, ORG_PATTERN, isValidName, isValidOrgId, fileNameForCommonName, parseIdentityName, type IdentityName } from './names.js'
export {
  inspectCertificate, splitPemCertificates, isWithinValidity, allowsClientAuth, keyMatchesCertificate,
  OID_CLIENT_AUTH, OID_SERVER_AUTH, type CertificateFacts
} from './certificate-facts.js'
export { buildCertificate, generateKeyPair, randomSerial, serialFrom, type CertificateSpec, type KeyPairPem, type AltName, type SubjectAttribute } from './x509-builder.js'
export { createManagedCa, clientProfile, serverProfile, PROFILE_DAYS, DEFAULT_CA_KEY_TYPE } from './profiles.js'
export { localSigner, keySigner, caKeyTypeOf, generateKeyOfType, isCaKeyType, CA_KEY_TYPES, SIGNATURE_ALGORITHMS, type CaSigner, type CaKeyType, type KeySigner } from './signer.js'
export { issue, orgAuthority, type Authority, type IssuanceRequest } from './issuance.js'
export { tbsCertificate } from './x509-builder.js'
export { signedStructure, subjectKeyIdentifier } from './asn1-signing.js'
export {
  activeServerCertOf, managedCaOf, trustedCasOf, normalizeSerial,
  type CaRecord, type OrgRecord, type OrgState, type ServerCertRecord, type RevocationRecord, type GatewayScopeRecord, type IssuedCertRecord, type IssuedKind, type CrlRecord, type CrlPolicy, CRL_POLICIES
} from './records.js'
export type { RegistryStore } from './registry-store.js'
export { FileRegistryStore } from './file-registry-store.js'
export { RedisRegistryStore } from './redis-registry-store.js'
export { OrgRegistry, type RegistryOptions, type Actor } from './org-registry.js'
export { ensureDemoBootstrap, DEMO_ORG, DEMO_IDENTITIES, type BootstrapFiles } from './bootstrap.js'
export { writeFileAtomic } from './atomic-file.js'
export { openRegistry } from './open-registry.js'
export { addCa, setCaEnabled, removeCa, loadCrl, findCa } from './ca-admin.js'
export { setCrlPolicy, crlPolicyOf, isCrlStale, crlDeadlinesOf, type CrlDeadline } from './crl-policy.js'
export { createServerCsr, issueServerCert, uploadServerCert, activateServerCert } from './server-cert-admin.js'
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
