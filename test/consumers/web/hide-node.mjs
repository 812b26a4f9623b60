// --import this to run without node:crypto: importing it then fails. (Buffer stays: Node's own fetch needs it.)
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`export async function resolve(specifier, context, next) {
      if (specifier === "node:crypto" || specifier === "crypto") throw new Error("node:crypto is hidden in this test");
      return next(specifier, context);
    }`),
);
