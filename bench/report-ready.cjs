// Preloaded with --require: the first time the process writes a webhook URL to stdout, it writes
// its own CPU time so far (µs) to $OMH_READY_OUT. Lets the start-up bench compare the CPU that
// `listen` and a bare node:http server spend until each prints its URL.
const { writeFileSync } = require("node:fs");

const write = process.stdout.write;
process.stdout.write = function writeAndNote(chunk, ...rest) {
  if (/http:\/\/127\.0\.0\.1:\d+\/webhooks/.test(String(chunk))) {
    const usage = process.cpuUsage();
    if (process.env.OMH_READY_OUT) writeFileSync(process.env.OMH_READY_OUT, String(usage.user + usage.system));
    process.stdout.write = write;
  }
  return write.call(this, chunk, ...rest);
};
