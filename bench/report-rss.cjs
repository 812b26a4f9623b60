// Preloaded with --require: writes the process's peak RSS (KiB) and CPU time (µs) to $OMH_RSS_OUT
// when it exits.
const { writeFileSync } = require("node:fs");
process.on("exit", () => {
  if (process.env.OMH_RSS_OUT) {
    const usage = process.resourceUsage();
    writeFileSync(
      process.env.OMH_RSS_OUT,
      JSON.stringify({ maxRssKiB: usage.maxRSS, cpuUs: usage.userCPUTime + usage.systemCPUTime }),
    );
  }
});
