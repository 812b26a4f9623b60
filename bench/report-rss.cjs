// Preloaded with --require: writes the process's peak RSS (KiB) to $OMH_RSS_OUT when it exits.
const { writeFileSync } = require("node:fs");
process.on("exit", () => {
  if (process.env.OMH_RSS_OUT) {
    writeFileSync(process.env.OMH_RSS_OUT, JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));
  }
});
