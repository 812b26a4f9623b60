/**
 * The tunnel seam: `listen` asks a provider for a public URL that forwards to the local listener.
 * The ngrok provider is the only module that imports the SDK; a fake stands in for tests.
 */
import { CliError } from "../errors.js";

export type TunnelStatus = "connected" | "closed";

export interface TunnelOptions {
  /** Where the tunnel forwards to, e.g. http://127.0.0.1:4811. */
  upstream: string;
  authtoken?: string;
  /** A reserved or dev domain, so the URL stays the same across runs. */
  domain?: string;
  /** Give up on connecting after this long. */
  connectTimeoutMs: number;
  /** ngrok's agent ingress, host:port (tests point it at a closed local port). */
  serverAddr?: string;
  /** Called when the session drops ("closed") or comes back ("connected"). Must not throw. */
  onStatus?(status: TunnelStatus): void;
}

export interface Tunnel {
  /** The public base URL, e.g. https://abc.ngrok-free.app (no path). */
  readonly url: string;
  /** Close the tunnel and its session; idempotent and bounded in time. */
  close(): Promise<void>;
}

export interface TunnelProvider {
  readonly name: string;
  /** Does this provider need an ngrok authtoken? */
  readonly needsAuthtoken: boolean;
  open(options: TunnelOptions): Promise<Tunnel>;
}

export type TunnelErrorKind =
  | "no-auth"
  | "auth"
  | "limit"
  | "conflict"
  | "domain"
  | "network"
  | "timeout"
  | "unsupported-platform"
  | "not-installed"
  | "quota"
  | "outdated"
  | "unknown";

/** A tunnel failure, classified, with a message that says what to do next. The token never appears in it. */
export class TunnelError extends CliError {
  readonly kind: TunnelErrorKind;
  readonly ngrokCode?: string;

  constructor(kind: TunnelErrorKind, message: string, ngrokCode?: string) {
    super(message, { code: "tunnel_failed" });
    this.name = "TunnelError";
    this.kind = kind;
    this.ngrokCode = ngrokCode;
  }
}
