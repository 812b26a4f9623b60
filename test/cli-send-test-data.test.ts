/** `--data` given inline JSON that is not an object: said so, not looked for as a file ("[1,2]: no such file"). */
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";

const env = { OPENMAIL_WEBHOOK_SECRET: "whsec_send_test_data_0123456" };

describe("send-test --data with an inline JSON array", () => {
  it("is refused as not an object to merge over the event, in one line, exit 2", async () => {
    const result = await runCli(["send-test", "--print", "--data", "[1,2]"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("openmail-hooks: --data value: expected a JSON object to merge over the event\n");
    expect(result.stdout).toBe("");
  });
});
