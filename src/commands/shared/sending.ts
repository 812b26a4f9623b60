/**
 * What send-test and replay use only when they send (not for --print or --dry-run): undici's client
 * and its warm-up, the delivery runner, and the delivery report, behind one module that they import
 * when a run sends. One import() here, not one per module: every module imported dynamically becomes
 * an entry point of the bundle, and esbuild then splits the chunks that the other commands share into
 * more, smaller files (with one per module, replay --dry-run started about 3 ms slower; BENCHMARKS.md).
 */
export { buildRecord, fatalConnectionError } from "../../io/delivery-runner.js";
export { createHttpClient } from "../../io/http-client.js";
export { warmUpHttp } from "../../io/warm-up.js";
export {
  createDeliveryRenderer,
  DETAIL_LIMIT,
  renderScenarioTable,
  showsSuccessBodies,
} from "../../output/delivery-report.js";
export { deliverAndReport, haltedByInterrupt, onInterrupt } from "./deliver.js";
