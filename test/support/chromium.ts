/**
 * Debian's Chromium, headless, driven by playwright-core (which downloads no browser of its own). .ci/run
 * installs the `chromium` package when it is missing. Each launch gets a fresh profile folder, and every
 * request the pages make to anything but loopback is refused and recorded, so a test can assert that a
 * page works offline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface Browser {
  readonly context: BrowserContext;
  /** URLs of requests to non-loopback hosts the pages tried (and were refused). */
  readonly external: string[];
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile. @throws when /usr/bin/chromium is missing (run .ci/run's apt step). */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium (as .ci/run does)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 1800 },
    timeout: 60_000,
  });
  const external: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) await route.continue();
    else {
      external.push(url.href);
      await route.abort('blockedbyclient');
    }
  });
  return {
    context,
    external,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A test's own output folder (gitignored), e.g. for screenshots. */
export function outputDir(name: string): string {
  const dir = path.join('test-output', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
