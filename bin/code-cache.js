// A V8 code cache for the bundled CLI's own chunks (dist/bin/*.js), the technique of v8-compile-cache:
// a chunk is compiled with vm.Script and the bytecode V8 made for it on an earlier run (`cachedData`),
// so V8 deserialises its functions instead of parsing and compiling them again (Node 20 has no
// module.enableCompileCache; it arrived in Node 22.1). About a tenth of `listen`'s start-up CPU.
//
// The caches are made by `npm run build` (scripts/code-cache.mjs runs a few commands with
// OMH_CODE_CACHE_WRITE set; each writes, at exit, the bytecode of the chunks it ran) and ship in
// dist/bin/code-cache/ beside the chunks. Nothing is written when the CLI runs, so a read-only install
// works, and a cache is exactly as trusted as the code beside it.
//
// A cache is used only for the very source it was made from, and only whole: its header holds the
// runtime that made it and the SHA-256 of the chunk's source and of the bytecode, all checked before V8
// sees it. V8 on Node 20 checks neither (it accepts bytecode with flipped bytes, and bytecode made from
// another source of the same length). A chunk with no cache, or a stale, truncated or corrupt one, or
// one V8 rejects (other V8 flags: `cachedDataRejected`), is compiled from its source as without this.
"use strict";
const Module = require("node:module");
const { hash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { basename, dirname, join, sep } = require("node:path");
const { Script } = require("node:vm");

const MAGIC = Buffer.from("omh-v8-code-cache-1\n");
/** Bytecode is only for the V8 (and Node, and CPU architecture) that made it. */
const RUNTIME = Buffer.from(`${process.version} ${process.arch} v8 ${process.versions.v8}\n`);
const HEADER = Buffer.concat([MAGIC, RUNTIME]);
const HASH_BYTES = 32;
const mainModule = require.main;

const sha256 = (data) => hash("sha256", data, "buffer");

/** The cache file of a chunk: dist/bin/code-cache/<chunk's file name>.cache. */
function cacheFileOf(filename) {
  return join(dirname(filename), "code-cache", `${basename(filename)}.cache`);
}

/** The bytecode in a chunk's cache file if it was made here, from exactly this source, and is whole. */
function readCache(file, sourceHash) {
  let data;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  const bytecodeAt = HEADER.length + 2 * HASH_BYTES;
  if (data.length <= bytecodeAt || !data.subarray(0, HEADER.length).equals(HEADER)) return undefined;
  if (!data.subarray(HEADER.length, HEADER.length + HASH_BYTES).equals(sourceHash)) return undefined;
  const bytecode = data.subarray(bytecodeAt);
  return data.subarray(HEADER.length + HASH_BYTES, bytecodeAt).equals(sha256(bytecode)) ? bytecode : undefined;
}

/** Write a chunk's cache whole or not at all: a temporary name, then a rename over the old one. */
function writeCache(file, sourceHash, bytecode) {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, Buffer.concat([HEADER, sourceHash, sha256(bytecode), bytecode]));
  renameSync(temporary, file);
}

/**
 * From now on, compile the chunks directly in `binDir` through their caches. With `write` (the build's
 * OMH_CODE_CACHE_WRITE), write each chunk's cache at exit, with what this run compiled added to it.
 */
function install(binDir, { write = false } = {}) {
  const prefix = binDir + sep;
  const ran = [];
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileWithCodeCache(content, filename, format) {
    const ours = filename.startsWith(prefix) && !filename.includes(sep, prefix.length) && filename.endsWith(".js");
    if (!ours || (format !== undefined && format !== "commonjs")) return compile.call(this, content, filename, format);
    const sourceHash = sha256(content);
    const cacheFile = cacheFileOf(filename);
    // Module.wrap is the wrapper Node's own loader put around a module; the chunks carry no shebang.
    const script = new Script(Module.wrap(content), { filename, cachedData: readCache(cacheFile, sourceHash) });
    if (write) ran.push({ script, cacheFile, sourceHash });
    const require = (id) => this.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
    require.main = mainModule;
    require.cache = Module._cache;
    const wrapper = script.runInThisContext({ displayErrors: true });
    return wrapper.call(this.exports, this.exports, require, this, filename, dirname(filename));
  };
  if (write) {
    process.once("exit", () => {
      for (const { script, cacheFile, sourceHash } of ran) writeCache(cacheFile, sourceHash, script.createCachedData());
    });
  }
}

module.exports = { install, cacheFileOf };
