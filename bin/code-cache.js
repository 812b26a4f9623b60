// A V8 code cache for the bundled CLI's own chunks (dist/bin/*.js), the technique of v8-compile-cache:
// a chunk is compiled with vm.Script and the bytecode V8 made for it on an earlier run (`cachedData`),
// so V8 deserialises its functions instead of parsing and compiling them again (Node 20 has no
// module.enableCompileCache; it arrived in Node 22.1). About a tenth of `listen`'s start-up CPU.
//
// The caches are made by `npm run build` (scripts/code-cache.mjs runs a few commands with
// OMH_CODE_CACHE_WRITE set; each writes, at exit, the bytecode of the chunks it ran) and ship in
// dist/bin/code-cache.bin beside the chunks. Nothing is written when the CLI runs, so a read-only install
// works, and a cache is exactly as trusted as the code beside it.
//
// A chunk's cache is used only for the very source it was made from, and only whole: the file names the
// runtime that made it, and its index the SHA-256 of each chunk's source and of its bytecode, all checked
// before V8 sees the bytecode. V8 on Node 20 checks neither (it accepts bytecode with flipped bytes, and
// bytecode made from another source of the same length). A chunk with no cache, or a stale, truncated or
// corrupt one, or one V8 rejects (other V8 flags: `cachedDataRejected`), is compiled from its source as
// without this file.
"use strict";
const Module = require("node:module");
const { hash } = require("node:crypto");
const { readFileSync, renameSync, rmSync, writeFileSync } = require("node:fs");
const { basename, dirname, join, sep } = require("node:path");
const { Script } = require("node:vm");

const MAGIC = Buffer.from("omh-v8-code-cache-2\n");
/** Bytecode is only for the V8 (and Node, and CPU architecture) that made it. */
const RUNTIME = Buffer.from(`${process.version} ${process.arch} v8 ${process.versions.v8}\n`);
const HEADER = Buffer.concat([MAGIC, RUNTIME]);
const mainModule = require.main;

const sha256 = (data) => hash("sha256", data, "hex");

/**
 * The cache of every chunk in one file (one read for all; v8-compile-cache keeps one blob too):
 * HEADER, the index's length (4 bytes, big-endian), the index as JSON
 * ({ "<chunk file name>": [SHA-256 of its source, SHA-256 of its bytecode, offset, length] }, offsets
 * from the end of the index), then the bytecode of each chunk.
 */
function cacheFileOf(binDir) {
  return join(binDir, "code-cache.bin");
}

/** The cache's index and bytecode, or undefined if there is none, or it is not this runtime's, or not whole. */
function readCacheFile(file) {
  try {
    const data = readFileSync(file);
    if (!data.subarray(0, HEADER.length).equals(HEADER)) return undefined;
    const indexAt = HEADER.length + 4;
    const bytecodeAt = indexAt + data.readUInt32BE(HEADER.length);
    const index = JSON.parse(data.toString("utf8", indexAt, bytecodeAt));
    return { index, bytecode: data.subarray(bytecodeAt) };
  } catch {
    return undefined;
  }
}

/** A chunk's bytecode if the cache holds it for exactly this source, whole; else undefined. */
function bytecodeOf(cache, name, sourceHash) {
  const entry = cache && Object.hasOwn(cache.index, name) ? cache.index[name] : undefined;
  if (!Array.isArray(entry) || entry[0] !== sourceHash) return undefined;
  const [, bytecodeHash, offset, length] = entry;
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length <= 0) return undefined;
  if (offset + length > cache.bytecode.length) return undefined;
  const bytecode = cache.bytecode.subarray(offset, offset + length);
  return sha256(bytecode) === bytecodeHash ? bytecode : undefined;
}

/** Write the cache whole or not at all (a temporary name, then a rename over the old one). */
function writeCacheFile(file, chunks) {
  const index = {};
  let offset = 0;
  const names = [...chunks.keys()].sort();
  for (const name of names) {
    const { sourceHash, bytecode } = chunks.get(name);
    index[name] = [sourceHash, sha256(bytecode), offset, bytecode.length];
    offset += bytecode.length;
  }
  const indexBytes = Buffer.from(JSON.stringify(index));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(indexBytes.length);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(
      temporary,
      Buffer.concat([HEADER, length, indexBytes, ...names.map((name) => chunks.get(name).bytecode)]),
    );
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * From now on, compile the chunks directly in `binDir` through the cache. With `write` (the build's
 * OMH_CODE_CACHE_WRITE), write the cache at exit, with what this run compiled added to it.
 */
function install(binDir, { write = false } = {}) {
  const prefix = binDir + sep;
  const file = cacheFileOf(binDir);
  let cache = null; // read at the first chunk
  const ran = new Map();
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileWithCodeCache(content, filename, format) {
    const ours = filename.startsWith(prefix) && !filename.includes(sep, prefix.length) && filename.endsWith(".js");
    if (!ours || (format !== undefined && format !== "commonjs")) return compile.call(this, content, filename, format);
    if (cache === null) cache = readCacheFile(file);
    const name = basename(filename);
    const sourceHash = sha256(content);
    // Module.wrap is the wrapper Node's own loader put around a module; the chunks carry no shebang.
    const script = new Script(Module.wrap(content), { filename, cachedData: bytecodeOf(cache, name, sourceHash) });
    if (write) ran.set(name, { script, sourceHash });
    const require = (id) => this.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
    require.main = mainModule;
    require.cache = Module._cache;
    const wrapper = script.runInThisContext({ displayErrors: true });
    return wrapper.call(this.exports, this.exports, require, this, filename, dirname(filename));
  };
  if (write) {
    process.once("exit", () => {
      try {
        // What earlier runs cached and this one did not run stays; what this one ran is replaced.
        const previous = readCacheFile(file);
        const chunks = new Map();
        for (const name of Object.keys(previous?.index ?? {})) {
          const bytecode = bytecodeOf(previous, name, previous.index[name][0]);
          if (bytecode) chunks.set(name, { sourceHash: previous.index[name][0], bytecode });
        }
        for (const [name, { script, sourceHash }] of ran) {
          chunks.set(name, { sourceHash, bytecode: script.createCachedData() });
        }
        writeCacheFile(file, chunks);
      } catch (error) {
        // The run itself went as it went: its exit code stays, and the chunks still run without a cache.
        process.stderr.write(`openmail-hooks: code cache not written (${error.code ?? error.message})\n`);
      }
    });
  }
}

module.exports = { install, cacheFileOf, readCacheFile };
