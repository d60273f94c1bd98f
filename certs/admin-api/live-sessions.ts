/**
 * The broker's live sessions as the admin API sees them (`GET
 * /orgs/:org/sessions`, `DELETE /orgs/:org/sessions/:clientId`). The admin
 * API does not import the broker (layering: broker → certs): the process that
 * runs both passes the broker's directory in (cli/parts/admin-part.ts).
 */
export interface LiveSessionRow {
  /** The certificate's identity (`d:<type>:<id>`, `g:…`, `a:…`), or `claim:<name>` for an enrollment claim session. */
  readonly identity: string
  readonly clientId: string
  /** SHA-256 fingerprint of the certificate the session connected with (hex), as the issued records name theirs. */
  readonly fingerprint: string
  /** When CONNECT was accepted (ISO 8601). */
  readonly since: string
  readonly remoteAddress: string | null
  /** The listener: MQTT over TLS, over a secure WebSocket, or the shared port's MQTT. */
  readonly transport: 'tls' | 'wss' | 'shared-port' | null
}

export interface LiveSessionDirectory {
  /** The organisation's authenticated sessions, oldest first. */
  list (orgId: string): Promise<readonly LiveSessionRow[]>
  /** Closes the organisation's session of that clientId; false when none is connected. */
  disconnect (orgId: string, clientId: string): Promise<boolean>
}
