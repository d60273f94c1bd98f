/** The secret part of an operator token `mqg_<id>_<secret>`: 43 base64url characters, which may hold `_` themselves. */
export function secretOf (token: string): string {
  return token.slice('mqg_'.length + 16 + 1)
}
