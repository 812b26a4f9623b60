/**
 * A TLS failure because Node does not trust the certificate (a local dev server's self-signed or
 * mkcert certificate: Node does not read the system's trust store) gets the hint that fixes it.
 */
import { describe, expect, it } from "vitest";
import { type DeliveryOutcome, responseHint } from "../src/core/contract.js";

function tlsFailure(code: string): DeliveryOutcome {
  return {
    kind: "network-error",
    error: "tls",
    message: `TLS handshake with https://localhost:3000 failed (${code})`,
    latencyMs: 3,
  };
}

describe("the hint for a certificate Node does not trust", () => {
  it("names NODE_EXTRA_CA_CERTS for self-signed and unknown-issuer certificates", () => {
    for (const code of [
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    ]) {
      expect(responseHint(tlsFailure(code)), code).toMatch(/NODE_EXTRA_CA_CERTS=<its \.pem file>/);
    }
  });

  it("keeps the general TLS hint for other handshake failures", () => {
    expect(responseHint(tlsFailure("ERR_SSL_WRONG_VERSION_NUMBER"))).toBe(
      "the TLS handshake failed: check https versus http, and the certificate",
    );
  });
});
