// Preloaded into the CLI by tests (NODE_OPTIONS=--require): a slow disk. Every fsync completes only
// once the file named by OMH_TEST_FSYNC_GATE exists, so a test decides when the disk catches up.
const fs = require("node:fs");
const { syncBuiltinESMExports } = require("node:module");

const gate = process.env.OMH_TEST_FSYNC_GATE;
const fsync = fs.fsync;
if (gate) {
  fs.fsync = (fd, callback) =>
    fsync(fd, (error) => {
      const wait = () => (fs.existsSync(gate) ? callback(error) : setTimeout(wait, 10));
      wait();
    });
  syncBuiltinESMExports();
}
