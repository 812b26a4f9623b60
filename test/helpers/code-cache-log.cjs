// Preloaded into the CLI (--require) by test/code-cache.test.ts: notes, for each script compiled with
// vm.Script from a dist/bin chunk, whether it was given V8 bytecode (`cachedData`) and whether V8
// rejected it, and writes that as JSON ({ "<chunk file name>": { given, rejected } }) to
// $OMH_CODE_CACHE_LOG at exit.
const vm = require("node:vm");
const { writeFileSync } = require("node:fs");
const { basename } = require("node:path");

const compiled = {};
const Script = vm.Script;
vm.Script = class NotedScript extends Script {
  constructor(code, options = {}) {
    super(code, options);
    if (typeof options.filename === "string" && /[\\/]dist[\\/]bin[\\/]/.test(options.filename)) {
      compiled[basename(options.filename)] = {
        given: options.cachedData !== undefined,
        rejected: this.cachedDataRejected,
      };
    }
  }
};
process.on("exit", () => writeFileSync(process.env.OMH_CODE_CACHE_LOG, JSON.stringify(compiled)));
