/**
 * A minimal Node adapter for a Web fetch handler (`(request: Request) => Promise<Response>`), the
 * shape of a Next.js route handler or a Hono app's `fetch`. It stands in for Next.js's own server
 * in the tests; use Next itself, or @hono/node-server, in an app. The body is read with a bound.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export function serveFetch(handler: (request: Request) => Response | Promise<Response>): Server {
  return createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      if (body === undefined) {
        res.writeHead(413).end("body too large\n");
        return;
      }
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      const method = req.method ?? "GET";
      const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
        method,
        headers,
        body: method === "GET" || method === "HEAD" ? undefined : body,
      });
      const response = await handler(request);
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch {
      res.writeHead(500).end("handler failed\n");
    }
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
