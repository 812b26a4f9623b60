/** Pure: what may be sent as an HTTP header name and value. Tiny and import-free: the CLI's option parsers use it at start-up. */

/** What HTTP (and undici, which refuses anything else at send time) accept in a header value: tab, visible ASCII and space, Latin-1. */
export function isHeaderValue(value: string): boolean {
  return !/[^\t\x20-\x7e\x80-\xff]/.test(value);
}

/** An HTTP header name: a token (RFC 9110 §5.6.2). */
export function isHeaderName(name: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name);
}
