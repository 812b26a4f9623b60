/** Input errors that named the wrong thing or were let through: an inline JSON array looked for as a file; sizes as "0.0 MB over 0.0 MB"; an empty --attachment name. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempDir } from "./helpers/cli.js";

const env = { OPENMAIL_WEBHOOK_SECRET: "whsec_send_test_data_0123456" };

describe("send-test --data with an inline JSON array", () => {
  it("is refused as not an object to merge over the event, in one line, exit 2", async () => {
    const result = await runCli(["send-test", "--print", "--data", "[1,2]"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("openmail-hooks: --data value: expected a JSON object to merge over the event\n");
    expect(result.stdout).toBe("");
  });
});

describe("a small --max-input-size", () => {
  it("names sizes under a tenth of a megabyte in bytes, not as 0.0 MB over 0.0 MB", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "small.json"), '{"a":1}');
    const result = await runCli(["verify", "--max-input-size", "1", "small.json"], { env, cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "openmail-hooks: small.json: is 7 bytes, over the input limit of 1 byte; raise it with --max-input-size\n",
    );
  });
});

describe("send-test --attachment with an empty name (a7 L8)", () => {
  it("is a usage error naming the option, and nothing is printed or sent", async () => {
    for (const name of ["", "  "]) {
      const result = await runCli(["send-test", "--print", "--attachment", name], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--attachment <filename>.* expected a file name like invoice\.pdf/);
      expect(result.stdout).toBe("");
    }
    // An odd but real name is still sent as given: a handler should cope with it.
    const odd = await runCli(["send-test", "--print", "--attachment", "../x.pdf"], { env });
    expect(odd.code).toBe(0);
    expect(odd.stdout).toContain('"filename":"../x.pdf"');
  });
});
