/** How a path is shown to the user: as they would type it from where they ran the command. */
import { relative } from "node:path";

/** Relative to `cwd` when it is inside it ("events/x.json"), else absolute. */
export function pathFromCwd(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") ? rel : path;
}
